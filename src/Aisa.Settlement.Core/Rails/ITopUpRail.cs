namespace Aisa.Settlement.Rails;

/// <summary>
/// A deposit intent made on request (<c>POST /api/agent/topup/create-session {amount, rail}</c>): a hosted checkout, an
/// invoice, a reference on a treasury account, or the requirements of a signed authorization. Address rails need no
/// intent of their own (<see cref="IAddressDepositRail"/>): the host answers with the agent's address.
/// </summary>
public interface ITopUpRail : IRail
{
    Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken);
}

/// <param name="Amount">Within the platform's top-up bounds already; a rail refuses what it cannot take (a card top-up of a fraction of a cent).</param>
/// <param name="PublicUrl">The service's public address of a path and query, as the caller reaches it.</param>
public sealed record TopUpRequest(long AgentId, Money.Micros Amount, Func<string, string> PublicUrl);
