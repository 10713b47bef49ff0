using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>One claimed authorization: who pays what to whom, until when.</summary>
/// <param name="Network">Where the authorization can be used (a CAIP-2 chain id); with the payer and the nonce, its name.</param>
public sealed record AuthorizationClaim(string Network, string Payer, string Nonce, long? AgentId, string Asset, string Value, long ValidBefore, Micros Amount, string State, DateTimeOffset CreatedAt);

/// <summary>
/// Replay protection for signed authorizations: an authorization is claimed in one statement before it is settled, so of
/// two requests carrying it (on any instance) one goes on and the other is refused. A certainly failed settlement releases
/// it; an unknown one keeps it for the reconciler.
/// </summary>
public interface IAuthorizationClaims
{
    Task<bool> TryClaimAsync(AuthorizationClaim claim, CancellationToken cancellationToken);

    /// <summary>Claims still settling that were made before <paramref name="before"/>: their settlement's answer was lost.</summary>
    Task<IReadOnlyList<AuthorizationClaim>> UnresolvedAsync(DateTimeOffset before, CancellationToken cancellationToken);

    Task ExpireAsync(AuthorizationClaim claim, CancellationToken cancellationToken);

    Task MismatchedAsync(AuthorizationClaim claim, string transaction, string evidence, CancellationToken cancellationToken);

    Task ReleaseAsync(string network, string payer, string nonce, CancellationToken cancellationToken);

    Task SettledAsync(string network, string payer, string nonce, string transaction, CancellationToken cancellationToken);
}
