using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Api.Dashboard;
using Aisa.Settlement.Api.Observability;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Api.Verify;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Storage.Pricing;
using Aisa.Settlement.Storage.Publishers;

using Aisa.Settlement.Api.Web;

namespace Aisa.Settlement.Api;

public static class SettlementServices
{
    public static IServiceCollection AddSettlement(this IServiceCollection services, SettlementSettings settings)
    {
        services.AddSettlementStorage(settings.Storage);
        // The HTTP client factory would log every outgoing request's URL, redacting only the query: a node's URL may hold its
        // provider's key in the path. Each client says itself what failed, naming the host only.
        services.ConfigureHttpClientDefaults(http => http.RemoveAllLoggers());
        services.AddObservability();
        services.AddApiDocument();
        services.AddDashboardAuth();
        services.AddWebSessions();
        services.AddSingleton<Storage.Operations.OperationsStore>();
        services.AddSettlementRateLimits(settings.RateLimits);
        services.AddSingleton<SystemAccounts>();
        services.AddSingleton<AgentStore>();
        services.AddSingleton<PublisherStore>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<RuleStore>();
        services.AddSingleton<TimePassStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<IdempotentRequests>();
        services.AddSingleton<Credentials>();
        services.AddSingleton<SessionAuthentication>();
        services.AddSingleton<PublisherDirectory>();
        services.AddSingleton(DomainProofNetwork.Internet);
        services.AddSingleton<DomainProof>();
        services.AddSingleton<Verify.PaymentOptions>();
        services.AddSingleton<VerifyService>();
        services.AddSingleton<Storage.Guard.ApprovalStore>();
        services.AddSingleton<Guard.RequestRates>();
        services.AddSingleton<Guard.SpendingGuard>();
        services.AddSingleton<Storage.Guard.SigningKeyStore>();
        services.AddSingleton<Guard.SignedRequests>();
        Notifications.WebhookSender.AddWebhookDelivery(services);
        services.AddSingleton<DepositStore>();
        services.AddSingleton<DepositAddressStore>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<IRailRegistry, RailRegistry>();
        services.AddSingleton<ISealedTokens, SealedTokens>();
        services.AddSingleton<DepositProcessor>();
        services.AddSingleton<IDepositBook>(provider => provider.GetRequiredService<DepositProcessor>());
        services.AddSingleton<DepositAddressService>();
        services.AddSingleton<Rails.TopUps>();
        services.AddSingleton<IAuthorizationClaims, AuthorizationClaimStore>();
        services.AddSingleton<Storage.Payouts.PayoutStore>();
        services.AddSingleton<Payouts.PayoutProcessor>();
        services.AddJobs(settings.Rails, settings.Scheduling, settings.Storage, settings.Payouts);
        return services;
    }
}
