using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisa.Settlement.Api.Http;

/// <summary>
/// The JSON of every AISA route: camelCase, nulls left out, and strict on the way in — an unknown field, a
/// field of the wrong type or a body that is not an object is refused, never guessed at.
/// </summary>
public static class ApiJson
{
    public const int MaxBodyBytes = 64 * 1024;

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        RespectNullableAnnotations = true,
        AllowDuplicateProperties = false,
    };

    public sealed record BodyResult<T>(T? Value, byte[] Raw, string? Problem) where T : class;

    /// <summary>Reads the whole body (at most <see cref="MaxBodyBytes"/>) and binds it; a problem is a message for a 400.</summary>
    public static async Task<BodyResult<T>> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return new(null, [], $"The body is larger than {MaxBodyBytes} bytes.");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return new(null, [], $"The body is larger than {MaxBodyBytes} bytes.");
            }
            buffer.Write(chunk, 0, read);
        }
        var raw = buffer.ToArray();
        if (raw.Length == 0)
        {
            return new(null, raw, "The body must be a JSON object.");
        }
        try
        {
            using (var document = JsonDocument.Parse(raw))
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return new(null, raw, "The body must be a JSON object.");
                }
            }
            var value = JsonSerializer.Deserialize<T>(raw, Options);
            return value is null ? new(null, raw, "The body must be a JSON object.") : new(value, raw, null);
        }
        catch (JsonException e)
        {
            return new(null, raw, Describe(e));
        }
    }

    private static string Describe(JsonException e)
    {
        // The serializer's message can quote the input: keep the path and the kind of error only.
        var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "the body" : e.Path.TrimStart('$', '.');
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown field in {where}.";
        }
        if (e.Message.Contains("could not be converted", StringComparison.Ordinal) || e.Message.Contains("amount", StringComparison.OrdinalIgnoreCase))
        {
            return $"Field {where} has the wrong type or value.";
        }
        if (e.Message.Contains("null", StringComparison.OrdinalIgnoreCase))
        {
            return $"Field {where} may not be null.";
        }
        return $"The body is not valid JSON (at {where}).";
    }

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);
}
