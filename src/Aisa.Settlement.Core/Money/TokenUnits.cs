using System.Numerics;

namespace Aisa.Settlement.Money;

/// <summary>
/// The result of converting a token's atomic units into micros: the whole micros, and what is left over in
/// atomic units (below one micro). Micros × unit + remainder is exactly the amount converted, so no money is
/// created or lost — the remainder is recorded, never rounded up.
/// </summary>
public readonly record struct TokenConversion(Micros Micros, BigInteger Remainder);

public static class TokenUnits
{
    /// <summary>
    /// Converts <paramref name="atomicUnits"/> of a token with <paramref name="decimals"/> decimals (USDC 6,
    /// Binance-Peg USDC 18) into micros by exact integer division. Fails for a negative amount, a decimals
    /// count outside 0–77 (uint256 holds at most 78 digits), or an amount beyond the range of micros.
    /// </summary>
    public static bool TryToMicros(BigInteger atomicUnits, int decimals, out TokenConversion conversion)
    {
        conversion = default;
        if (atomicUnits.Sign < 0 || decimals is < 0 or > 77)
        {
            return false;
        }
        BigInteger micros;
        BigInteger remainder;
        if (decimals >= Micros.Decimals)
        {
            var unitsPerMicro = BigInteger.Pow(10, decimals - Micros.Decimals);
            micros = BigInteger.DivRem(atomicUnits, unitsPerMicro, out remainder);
        }
        else
        {
            micros = atomicUnits * BigInteger.Pow(10, Micros.Decimals - decimals);
            remainder = BigInteger.Zero;
        }
        if (micros > long.MaxValue)
        {
            return false;
        }
        conversion = new TokenConversion(new Micros((long)micros), remainder);
        return true;
    }

    /// <summary>The atomic units of a token that make up <paramref name="micros"/> exactly.</summary>
    public static BigInteger FromMicros(Micros micros, int decimals)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(micros.Value);
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        if (decimals >= Micros.Decimals)
        {
            return micros.Value * BigInteger.Pow(10, decimals - Micros.Decimals);
        }
        var divisor = BigInteger.Pow(10, Micros.Decimals - decimals);
        var units = BigInteger.DivRem(micros.Value, divisor, out var remainder);
        return remainder.IsZero
            ? units
            : throw new ArgumentException($"{micros} is not a whole number of units of a {decimals}-decimal token.", nameof(micros));
    }
}
