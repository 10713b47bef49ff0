using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Idempotency;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// A top-up of an agent's wallet started on a rail: the one way the API (<c>create-session</c>) and the wallet's page both
/// start one. With an idempotency key, every retry gets the first answer: one top-up, however often it is asked for.
/// </summary>
public sealed class TopUps(DepositAddressService addresses, IRailRegistry rails, DepositStore deposits, IOptions<PlatformOptions> platform,
    IdempotentRequests idempotency, TimeProvider clock)
{
    /// <summary>The rails a wallet can be topped up on here, the default first.</summary>
    public IReadOnlyList<RailId> Enabled =>
        [.. rails.All.Where(r => r is ITopUpRail or IAddressDepositRail).Select(r => r.Id).OrderBy(id => id == rails.DefaultTopUp ? 0 : 1)];

    public async Task<StoredResponse> StartAsync(HttpRequest request, Agent agent, CreateSessionRequest input, string? idempotencyKey, string fingerprint,
        CancellationToken cancellationToken)
    {
        Task<StoredResponse> Create(string _) => CreateAsync(request, agent, input, cancellationToken);
        return idempotencyKey is null
            ? await Create("")
            : await idempotency.RunAsync($"agent:{agent.Id}", idempotencyKey, fingerprint, Create, ApiResponses.Error, cancellationToken);
    }

    private async Task<StoredResponse> CreateAsync(HttpRequest request, Agent agent, CreateSessionRequest input, CancellationToken cancellationToken)
    {
        var minimum = platform.Value.MinTopUpMicros;
        if (input.Amount is not { } amount || amount < minimum || amount > PricingLimits.MaxAdjustment)
        {
            return ApiResponses.Error(400, "invalid_amount", $"amount is a USD amount from {minimum.ToAmountString()} to {PricingLimits.MaxAdjustment.ToAmountString()}.");
        }
        var railName = input.Rail ?? rails.DefaultTopUp?.Value;
        var chosen = RailId.TryParse(railName, out var id) ? rails.Find(id) : null;
        if (chosen is ITopUpRail topUp)
        {
            return ApiResponses.Of(await topUp.CreateTopUpAsync(new TopUpRequest(agent.Id, amount, path => PublicUrls.For(request, platform.Value, path)), cancellationToken));
        }
        if (chosen is not IAddressDepositRail rail)
        {
            var enabled = Enabled.Select(r => r.Value).ToList();
            var list = enabled.Count == 0 ? "none" : string.Join(", ", enabled);
            return ApiResponses.Error(400, "rail_not_enabled", railName is null
                ? $"Name a rail: none is the default here; enabled: {list}."
                : $"The {railName} rail is not enabled here; enabled: {list}.");
        }
        var instructions = (await addresses.ForAgentAsync(agent.Id, cancellationToken)).Single(i => i.Rail == rail.Id.Value);
        var deposit = await deposits.CreatePendingAsync(rail.Id.Value, agent.Id, amount, instructions.Address.ToLowerInvariant(), rail.Finality.Required,
            clock.GetUtcNow() + DepositsApi.PendingLifetime, cancellationToken);
        return ApiResponses.Json(201, new
        {
            depositId = deposit.Id,
            rail = rail.Id.Value,
            chainId = instructions.ChainId,
            address = instructions.Address,
            derivationIndex = instructions.DerivationIndex,
            tokens = instructions.Tokens,
            amount,
            confirmationsRequired = rail.Finality.Required,
            expiresAt = deposit.ExpiresAt,
        });
    }
}
