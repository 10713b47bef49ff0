using Aisa.Settlement.Money;

namespace Aisa.Settlement.Deposits;

/// <summary>A deposit as stored: what was asked, what the rail saw, where its state machine stands.</summary>
public sealed record Deposit(
    long Id,
    string Rail,
    long? AgentId,
    DepositState State,
    Micros? RequestedAmount,
    Micros? Amount,
    string? ExternalId,
    string? TransactionHash,
    long? LogIndex,
    string? Address,
    string? Token,
    string? TokenAmount,
    long? BlockNumber,
    string? BlockHash,
    int Confirmations,
    int ConfirmationsRequired,
    string? LedgerKey,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long? LogPosition = null);
