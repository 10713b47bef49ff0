using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Auth;

/// <summary>Resolves <c>Authorization: Bearer &lt;session token&gt;</c> to the agent or publisher it belongs to.</summary>
public sealed class SessionAuthentication(SessionStore sessions)
{
    public async Task<string> IssueAsync(SessionSubject subject, long id, CancellationToken cancellationToken)
    {
        var token = Secrets.NewSessionToken();
        await sessions.CreateAsync(Secrets.Hash(token), subject, id, cancellationToken);
        return token;
    }

    /// <summary>Ends the session the request carries (a logout): 204, or the 401 when it carries none that is valid.</summary>
    public async Task<IResult> EndAsync(HttpRequest request, SessionSubject subject, CancellationToken cancellationToken)
    {
        var (id, refusal) = await AuthenticateAsync(request, subject, cancellationToken);
        if (id is null)
        {
            return refusal!.ToResult();
        }
        await sessions.EndAsync(Secrets.Hash(request.Headers.Authorization.ToString()["Bearer ".Length..].Trim()), subject, cancellationToken);
        return Results.NoContent();
    }

    /// <summary>The subject id, or the 401 to send.</summary>
    public async Task<(long? Id, StoredResponse? Refusal)> AuthenticateAsync(HttpRequest request, SessionSubject subject, CancellationToken cancellationToken)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, Unauthorized("Send Authorization: Bearer <session token> from login."));
        }
        var token = header[scheme.Length..].Trim();
        if (!token.StartsWith(Secrets.SessionTokenPrefix, StringComparison.Ordinal) || token.Length > 200)
        {
            return (null, Unauthorized("The session token is not valid."));
        }
        var id = await sessions.FindSubjectAsync(Secrets.Hash(token), subject, cancellationToken);
        return id is null ? (null, Unauthorized("The session token is unknown or expired: log in again.")) : (id, null);
    }

    private static StoredResponse Unauthorized(string message) =>
        ApiResponses.Json(401, new ApiError("unauthorized", message), new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer" });
}
