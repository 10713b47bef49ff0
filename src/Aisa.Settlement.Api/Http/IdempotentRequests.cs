using System.Security.Cryptography;
using System.Text;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Http;

/// <summary>
/// The <c>Idempotency-Key</c> rule: per caller scope, a retry gets the first answer byte for byte and moves money
/// once; a duplicate that arrives while the first runs waits for it; 5xx answers are not kept; the same key with
/// a different request gets 422.
/// </summary>
public sealed class IdempotentRequests(IdempotencyStore store)
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;
    private static readonly TimeSpan WaitForFirst = TimeSpan.FromSeconds(30);

    public delegate StoredResponse ErrorShape(int statusCode, string error, string message);

    /// <summary>The key of this request, null without one, or a problem with it.</summary>
    public static (string? Key, string? Problem) ReadKey(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return (null, null);
        }
        var key = values.ToString();
        return key.Length is 0 or > MaxKeyLength || key.Any(char.IsControl)
            ? (null, $"{Header} is 1 to {MaxKeyLength} printable characters.")
            : (key, null);
    }

    /// <summary>A fingerprint of what makes two requests the same request.</summary>
    public static string Fingerprint(string method, string path, ReadOnlySpan<byte> body, params string?[] parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{method} {path}\n{string.Join('\n', parts)}\n"));
        hash.AppendData(body);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Runs <paramref name="handler"/> once per remembered key, with the operation id its ledger keys derive from: every
    /// retry of the request gets the same id (so even a run that failed after moving money cannot move it twice), and a
    /// key used again after the retention gets a new one (a new operation, never answered from an old transfer).
    /// </summary>
    public async Task<StoredResponse> RunAsync(string scope, string key, string fingerprint, Func<string, Task<StoredResponse>> handler, ErrorShape error, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + WaitForFirst;
        while (true)
        {
            switch (await store.ClaimAsync(scope, key, fingerprint, cancellationToken))
            {
                case IdempotencyClaim.Owned owned:
                    StoredResponse response;
                    try
                    {
                        response = await handler(owned.OperationId);
                    }
                    catch
                    {
                        await store.ReleaseAsync(scope, key, CancellationToken.None);
                        throw;
                    }
                    if (response.StatusCode >= 500)
                    {
                        await store.ReleaseAsync(scope, key, CancellationToken.None);
                    }
                    else
                    {
                        await store.CompleteAsync(scope, key, response, CancellationToken.None);
                    }
                    return response;
                case IdempotencyClaim.Replay replay:
                    return replay.Response;
                case IdempotencyClaim.Mismatch:
                    return error(422, "idempotency_key_reused", $"This {Header} was used for a different request.");
                default:
                    if (DateTime.UtcNow > deadline)
                    {
                        return error(409, "idempotency_key_in_use", $"A request with this {Header} is still running; retry later.");
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
                    break;
            }
        }
    }
}
