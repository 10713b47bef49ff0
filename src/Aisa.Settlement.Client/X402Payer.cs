using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Nethereum.ABI.EIP712;
using Nethereum.Signer;
using Nethereum.Signer.EIP712;

namespace Aisa.Settlement.Client;

/// <summary>
/// Pays one request with x402 (version 2, scheme <c>exact</c>, EIP-3009) from a wallet's key, with no AISA account: the
/// 402's <c>PAYMENT-REQUIRED</c> is read, the requirements of <see cref="Network"/> chosen, a <c>transferWithAuthorization</c>
/// of exactly the amount to their <c>payTo</c> signed (EIP-712, the token's domain), and the request made again with
/// <c>PAYMENT-SIGNATURE</c>. The key never leaves the process.
/// </summary>
public sealed class X402Payer(string privateKeyHex, string network, TimeProvider? clock = null)
{
    public const string RequiredHeader = "PAYMENT-REQUIRED";
    public const string SignatureHeader = "PAYMENT-SIGNATURE";

    private readonly EthECKey _key = new(privateKeyHex);

    /// <summary>The CAIP-2 network this payer holds money on (<c>eip155:8453</c>).</summary>
    public string Network => network;

    public string Address => _key.GetPublicAddress();

    /// <summary>
    /// GETs <paramref name="resource"/>; a 402 asking x402 on <see cref="Network"/> is paid, and the paid answer returned.
    /// Any other answer (paid or not) is returned as it came.
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri resource, CancellationToken cancellationToken = default)
    {
        var first = await http.GetAsync(resource, cancellationToken);
        if ((int)first.StatusCode != 402 || !first.Headers.TryGetValues(RequiredHeader, out var required) || Sign(required.First()) is not { } payment)
        {
            return first;
        }
        first.Dispose();
        using var paid = new HttpRequestMessage(HttpMethod.Get, resource);
        paid.Headers.Add(SignatureHeader, payment);
        return await http.SendAsync(paid, cancellationToken);
    }

    /// <summary>The <c>PAYMENT-SIGNATURE</c> for a 402's <c>PAYMENT-REQUIRED</c>; null when it accepts nothing on <see cref="Network"/>.</summary>
    public string? Sign(string paymentRequiredHeader)
    {
        var requiredJson = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(paymentRequiredHeader)))!;
        var accepted = requiredJson["accepts"]?.AsArray().OfType<JsonObject>()
            .FirstOrDefault(a => a["scheme"]?.GetValue<string>() == "exact" && a["network"]?.GetValue<string>() == network);
        if (accepted is null || !long.TryParse(network.Split(':')[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var chainId))
        {
            return null;
        }
        var payTo = accepted["payTo"]!.GetValue<string>();
        var asset = accepted["asset"]!.GetValue<string>();
        var value = BigInteger.Parse(accepted["amount"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var validBefore = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds() + (accepted["maxTimeoutSeconds"]?.GetValue<long>() ?? 60);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var typed = new TypedData<Domain>
        {
            Domain = new Domain
            {
                Name = accepted["extra"]?["name"]?.GetValue<string>(),
                Version = accepted["extra"]?["version"]?.GetValue<string>(),
                ChainId = chainId,
                VerifyingContract = asset,
            },
            Types = new Dictionary<string, MemberDescription[]>
            {
                ["EIP712Domain"] =
                [
                    new() { Name = "name", Type = "string" }, new() { Name = "version", Type = "string" },
                    new() { Name = "chainId", Type = "uint256" }, new() { Name = "verifyingContract", Type = "address" },
                ],
                ["TransferWithAuthorization"] =
                [
                    new() { Name = "from", Type = "address" }, new() { Name = "to", Type = "address" }, new() { Name = "value", Type = "uint256" },
                    new() { Name = "validAfter", Type = "uint256" }, new() { Name = "validBefore", Type = "uint256" }, new() { Name = "nonce", Type = "bytes32" },
                ],
            },
            PrimaryType = "TransferWithAuthorization",
            Message =
            [
                new() { TypeName = "address", Value = Address }, new() { TypeName = "address", Value = payTo }, new() { TypeName = "uint256", Value = value },
                new() { TypeName = "uint256", Value = BigInteger.Zero }, new() { TypeName = "uint256", Value = new BigInteger(validBefore) },
                new() { TypeName = "bytes32", Value = nonce },
            ],
        };
        var signature = new Eip712TypedDataSigner().SignTypedDataV4(typed, _key);
        var payload = new JsonObject
        {
            ["x402Version"] = 2,
            ["payload"] = new JsonObject
            {
                ["authorization"] = new JsonObject
                {
                    ["from"] = Address,
                    ["to"] = payTo,
                    ["value"] = value.ToString(CultureInfo.InvariantCulture),
                    ["validAfter"] = "0",
                    ["validBefore"] = validBefore.ToString(CultureInfo.InvariantCulture),
                    ["nonce"] = "0x" + Convert.ToHexStringLower(nonce),
                },
                ["signature"] = signature,
            },
            ["resource"] = requiredJson["resource"]?.DeepClone(),
            ["accepted"] = accepted.DeepClone(),
            ["extensions"] = new JsonObject(),
        };
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.ToJsonString()));
    }
}
