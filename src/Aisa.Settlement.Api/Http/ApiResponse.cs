using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Http;

/// <summary>The error body of the agent, publisher and operator routes: <c>{success:false, error, message}</c>.</summary>
public sealed record ApiError(string Error, string Message)
{
    public bool Success => false;
}

public static class ApiResponses
{
    public static StoredResponse Json<T>(int statusCode, T body, IReadOnlyDictionary<string, string>? headers = null)
    {
        var all = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json; charset=utf-8",
        };
        return new StoredResponse(statusCode, all, ApiJson.Serialize(body));
    }

    public static StoredResponse Error(int statusCode, string error, string message) =>
        Json(statusCode, new ApiError(error, message));

    /// <summary>A rail's answer as the contract writes it: its body, or the error body of a refusal.</summary>
    public static StoredResponse Of(Aisa.Settlement.Rails.RailAnswer answer) =>
        answer.Body is not null ? Json(answer.Status, answer.Body, answer.Headers) : Error(answer.Status, answer.Error!, answer.Message!);

    public static IResult ToResult(this StoredResponse response) => new StoredResponseResult(response);

    private sealed class StoredResponseResult(StoredResponse response) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = response.StatusCode;
            foreach (var (name, value) in response.Headers)
            {
                httpContext.Response.Headers[name] = value;
            }
            httpContext.Response.ContentLength = response.Body.Length;
            await httpContext.Response.Body.WriteAsync(response.Body, httpContext.RequestAborted);
        }
    }
}
