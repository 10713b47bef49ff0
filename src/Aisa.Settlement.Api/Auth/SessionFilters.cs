using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Publishers;

namespace Aisa.Settlement.Api.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;session&gt;</c> checked once, in front of every endpoint that needs it: a missing, unknown
/// or expired session gets 401 (a disabled agent 403) in the contract's shape, and the handler never runs.
/// </summary>
public static class SessionFilters
{
    /// <summary>The agent whose session the filter checked; a handler mapped without the filter fails loudly here.</summary>
    public static Agent SessionAgent(this HttpContext context) =>
        context.Items[typeof(Agent)] as Agent ?? throw new InvalidOperationException("The endpoint was mapped without RequireAgentSession().");

    /// <summary>The publisher whose session the filter checked.</summary>
    public static Publisher SessionPublisher(this HttpContext context) =>
        context.Items[typeof(Publisher)] as Publisher ?? throw new InvalidOperationException("The endpoint was mapped without RequirePublisherSession().");

    public static TBuilder RequireAgentSession<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.CalledWith(ApiDocument.Session).AddEndpointFilter(async (context, next) =>
        {
            var services = context.HttpContext.RequestServices;
            var (id, refusal) = await services.GetRequiredService<SessionAuthentication>().AuthenticateAsync(context.HttpContext.Request, SessionSubject.Agent, context.HttpContext.RequestAborted);
            if (id is null)
            {
                return refusal!.ToResult();
            }
            var agent = await services.GetRequiredService<AgentStore>().FindByIdAsync(id.Value, context.HttpContext.RequestAborted);
            if (agent is null || agent.Disabled)
            {
                return ApiResponses.Error(403, "account_disabled", "This agent is disabled.").ToResult();
            }
            context.HttpContext.Items[typeof(Agent)] = agent;
            return await next(context);
        });

    public static TBuilder RequirePublisherSession<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.CalledWith(ApiDocument.Session).AddEndpointFilter(async (context, next) =>
        {
            var services = context.HttpContext.RequestServices;
            var (id, refusal) = await services.GetRequiredService<SessionAuthentication>().AuthenticateAsync(context.HttpContext.Request, SessionSubject.Publisher, context.HttpContext.RequestAborted);
            if (id is null)
            {
                return refusal!.ToResult();
            }
            var publisher = await services.GetRequiredService<PublisherStore>().FindByIdAsync(id.Value, context.HttpContext.RequestAborted);
            if (publisher is null)
            {
                return ApiResponses.Error(401, "unauthorized", "The publisher no longer exists.").ToResult();
            }
            context.HttpContext.Items[typeof(Publisher)] = publisher;
            return await next(context);
        });
}
