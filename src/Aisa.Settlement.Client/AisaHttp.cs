using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Aisa.Settlement.Client;

/// <summary>One request to the gateway and its answer read as the contract writes it.</summary>
internal static class AisaHttp
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public const string CrawlerTokenHeader = "X-AISA-Crawler-Token";

    public static async Task<AisaResult<T>> SendAsync<T>(HttpClient http, HttpMethod method, string path, object? body, Action<HttpRequestHeaders>? headers,
        Func<JsonElement, T> read, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        headers?.Invoke(request.Headers);
        using var response = await http.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement json;
        try
        {
            json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return new AisaResult<T>(status, default, new AisaError(status, "invalid_answer", $"The gateway answered {status} with something that is not JSON.", default));
        }
        if (response.IsSuccessStatusCode)
        {
            return new AisaResult<T>(status, read(json), null);
        }
        var code = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var error) ? error.GetString() ?? "error" : "http_" + status;
        var message = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("message", out var said) ? said.GetString() ?? "" : response.ReasonPhrase ?? "";
        return new AisaResult<T>(status, default, new AisaError(status, code, message, json));
    }

    public static T Read<T>(JsonElement json) => json.Deserialize<T>(Json)!;

    public static T Read<T>(JsonElement json, string property) => json.GetProperty(property).Deserialize<T>(Json)!;

    public static Action<HttpRequestHeaders> Session(string session) => headers => headers.Authorization = new AuthenticationHeaderValue("Bearer", session);
}
