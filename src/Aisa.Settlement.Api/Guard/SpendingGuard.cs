using Aisa.Settlement.Guard;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Guard;

namespace Aisa.Settlement.Api.Guard;

/// <summary>A budget as a crawler is told about it: the period, its cap, what is spent, what remains, when it renews.</summary>
public sealed record BudgetView(string Period, Micros Limit, Micros Spent, Micros Remaining, DateTimeOffset RenewsAt)
{
    /// <summary>The day or month it is the budget of (<c>d:2026-12-04</c>): what its notices are keyed by.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string PeriodKey { get; init; } = "";

    public static BudgetView Of(SpendingPeriod period, Micros limit, SpendingTotals totals)
    {
        var spent = totals.Of(period);
        var remaining = limit - spent;
        return new BudgetView(period == SpendingPeriod.Day ? "day" : "month", limit, spent, remaining < Micros.Zero ? Micros.Zero : remaining,
            SpendingPeriods.Renews(period, totals.At)) { PeriodKey = SpendingPeriods.Key(period, totals.At) };
    }
}

/// <summary>A guard rule that refuses a verify: the contract's status, error code and message.</summary>
public sealed record GuardRefusal(int StatusCode, string Error, string Message, TimeSpan? RetryAfter = null);

/// <summary>Where a charge above the approval threshold stands.</summary>
public abstract record ApprovalStatus(Approval Approval)
{
    public sealed record Approved(Approval Approval) : ApprovalStatus(Approval);
    public sealed record Waiting(Approval Approval, bool Opened) : ApprovalStatus(Approval);
    public sealed record Declined(Approval Approval) : ApprovalStatus(Approval);
}

/// <summary>
/// The crawler's policy applied to one charge, in the contract's order: publisher lists, pace, price cap; then (in the
/// charge's own commit, by the ledger) the budgets; then the owner's approval. The policy comes with the agent, read by
/// verify anyway; the budgets are checked by the ledger in the charge's commit, so the common verify costs no extra trip.
/// </summary>
public sealed class SpendingGuard(ApprovalStore approvals, ILedger ledger, RequestRates rates, Notifications.Notifier notifier, Notifications.NotificationOptions notifications,
    TimeProvider clock)
{
    // Read once: the options do not change while the service runs, and every charge asks.
    private readonly Micros? _lowBalance = notifications.LowBalanceMicros;

    /// <summary>The share of a budget whose spending sends <c>budget.approaching</c>.</summary>
    public const int ApproachingPercent = 80;

    /// <summary>How long an approval waits for its owner, and how long an approved or declined one stands.</summary>
    public static readonly TimeSpan ApprovalLifetime = TimeSpan.FromHours(24);

    /// <summary>The rules needing no database: publisher lists, requests per minute, the price cap.</summary>
    public GuardRefusal? Admit(Agent agent, string publisherDomain, Micros price)
    {
        var policy = agent.Guard;
        if (policy.IsEmpty)
        {
            return null;
        }
        if (!policy.Allows(publisherDomain))
        {
            return new GuardRefusal(403, "publisher_not_allowed", $"The crawler's owner does not allow paying {publisherDomain}.");
        }
        if (policy.RequestsPerMinute is { } perMinute && !rates.TryAdmit(agent.Id, perMinute, out var retryAfter))
        {
            return new GuardRefusal(429, "rate_limited", $"The crawler's owner allows {perMinute} paid requests a minute.", retryAfter);
        }
        if (policy.MaxPricePerRequest is { } max && price > max)
        {
            return new GuardRefusal(402, "price_too_high", $"The price {price.ToPriceString()} is above the owner's maximum per request {max.ToPriceString()}.");
        }
        return null;
    }

    public static SpendingCaps? Caps(Agent agent) =>
        agent.Guard.HasBudget ? new SpendingCaps(agent.Wallet, agent.Guard.DailyBudget, agent.Guard.MonthlyBudget) : null;

    public static bool NeedsApproval(Agent agent, Micros price) => agent.Guard.ApprovalAbove is { } above && price > above;

    /// <summary>The budget a charge of <paramref name="price"/> would pass now, or null (read outside the commit: the ledger checks again).</summary>
    public async Task<BudgetView?> WouldExceedAsync(Agent agent, Micros price, CancellationToken cancellationToken)
    {
        if (Caps(agent) is not { } caps)
        {
            return null;
        }
        var totals = await ledger.GetSpendingAsync(agent.Wallet, clock.GetUtcNow(), cancellationToken);
        return Exceeded(caps, totals, price);
    }

    /// <summary>The first budget that <paramref name="price"/> more would pass, after <paramref name="totals"/>.</summary>
    public static BudgetView? Exceeded(SpendingCaps caps, SpendingTotals totals, Micros price)
    {
        foreach (var period in new[] { SpendingPeriod.Day, SpendingPeriod.Month })
        {
            if (caps.CapOf(period) is { } cap && totals.Of(period) + price > cap)
            {
                return BudgetView.Of(period, cap, totals);
            }
        }
        return null;
    }

    /// <summary>The owner's decision on this charge: approved (and unused), declined, or waiting — opened now if none was.</summary>
    public async Task<ApprovalStatus> ApprovalAsync(Agent agent, long publisherId, string resource, Micros price, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var latest = await approvals.LatestAsync(agent.Id, publisherId, resource, price, cancellationToken);
        switch (latest)
        {
            case { State: ApprovalState.Approved } when now - latest.CreatedAt < ApprovalLifetime:
                return new ApprovalStatus.Approved(latest);
            case { State: ApprovalState.Pending } when now - latest.CreatedAt < ApprovalLifetime:
                return new ApprovalStatus.Waiting(latest, false);
            case { State: ApprovalState.Declined, DecidedAt: { } decided } when now - decided < ApprovalLifetime:
                return new ApprovalStatus.Declined(latest);
            case { State: ApprovalState.Pending or ApprovalState.Approved }:
                await approvals.MoveAsync(latest.Id, latest.State, ApprovalState.Expired, null, cancellationToken);
                break;
        }
        var (open, opened) = await approvals.OpenAsync(agent.Id, publisherId, resource, price, cancellationToken);
        if (opened)
        {
            await notifier.NotifyAsync(Notifications.Notifier.AgentOwner(agent.Id), "approval.waiting:" + open.Id, "approval.waiting", new
            {
                crawlerId = agent.Id,
                approvalId = open.Id,
                publisher = open.PublisherDomain,
                resource = open.Resource,
                price = open.Price,
                expiresAt = open.CreatedAt + ApprovalLifetime,
                approve = $"POST /api/agent/approvals/{open.Id}/approve",
                decline = $"POST /api/agent/approvals/{open.Id}/decline",
            });
        }
        return open.State == ApprovalState.Approved ? new ApprovalStatus.Approved(open) : new ApprovalStatus.Waiting(open, opened);
    }

    /// <summary>
    /// After a charge: <c>balance.low</c> when it took the wallet below <see cref="Notifications.NotificationOptions.LowBalance"/>;
    /// under budgets, <c>budget.approaching</c> when it crossed 80 % of one, <c>budget.reached</c> when it used one up.
    /// </summary>
    public async Task ChargedAsync(Agent agent, Transfer charge, SpendingTotals? spending)
    {
        if (charge.DebitBalanceAfter is { } after && _lowBalance is { } low && after < low && after + charge.Amount >= low)
        {
            // Keyed by the charge: the wallet crosses the line again only after a top-up lifted it, and that is news again.
            await notifier.NotifyAsync(Notifications.Notifier.AgentOwner(agent.Id), $"balance.low:{charge.Id}", "balance.low", new
            {
                crawlerId = agent.Id,
                balance = after,
                threshold = low,
                topUp = "POST /api/agent/topup/create-session {amount, rail}",
            });
        }
        if (spending is { } totals)
        {
            await SpentAsync(agent, totals, charge.Amount);
        }
    }

    private async Task SpentAsync(Agent agent, SpendingTotals after, Micros price)
    {
        if (Caps(agent) is not { } caps)
        {
            return;
        }
        foreach (var period in new[] { SpendingPeriod.Day, SpendingPeriod.Month })
        {
            if (caps.CapOf(period) is not { } cap)
            {
                continue;
            }
            var spent = after.Of(period);
            var before = spent - price;
            var threshold = new Micros(cap.Value * ApproachingPercent / 100);
            var budget = BudgetView.Of(period, cap, after);
            if (spent >= cap && before < cap)
            {
                await ReachedAsync(agent, budget);
            }
            else if (spent >= threshold && before < threshold)
            {
                await NoticeAsync(agent, "budget.approaching", budget);
            }
        }
    }

    /// <summary>A budget is used up (a charge took the last of it, or one was refused for it): <c>budget.reached</c>, once a period.</summary>
    public Task ReachedAsync(Agent agent, BudgetView budget) => NoticeAsync(agent, "budget.reached", budget);

    // Notices this instance has sent: a crawler that keeps hitting a spent budget costs no database trip per refusal.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _noticed = new(StringComparer.Ordinal);

    private Task NoticeAsync(Agent agent, string type, BudgetView budget)
    {
        var key = $"{type}:{budget.PeriodKey}";
        if (_noticed.Count > 100_000)
        {
            _noticed.Clear();
        }
        return _noticed.TryAdd($"{agent.Id}/{key}", 0) ? SendAsync() : Task.CompletedTask;

        Task SendAsync() => notifier.NotifyAsync(Notifications.Notifier.AgentOwner(agent.Id), key, type, new
        {
            crawlerId = agent.Id,
            period = budget.Period,
            limit = budget.Limit,
            spent = budget.Spent,
            remaining = budget.Remaining,
            renewsAt = budget.RenewsAt,
        });
    }

    /// <summary>The approved charge was posted: the approval is spent.</summary>
    public Task UsedAsync(Approval approval, string transferKey) =>
        approvals.MoveAsync(approval.Id, ApprovalState.Approved, ApprovalState.Used, transferKey, CancellationToken.None);
}
