using Aisa.Settlement.Money;

namespace Aisa.Settlement.Deposits;

/// <summary>What a payment seen on a rail says about its deposit.</summary>
public sealed record DepositPayment(
    long AgentId,
    string ExternalId,
    string TransactionHash,
    long? LogIndex,
    string Address,
    string Token,
    string TokenAmount,
    Micros Amount,
    long? BlockNumber,
    string? BlockHash,
    long? LogPosition = null);
