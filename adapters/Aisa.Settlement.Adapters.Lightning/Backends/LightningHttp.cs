using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>One JSON request to a backend with its own timeout: the status and the parsed body, or an exception saying what failed without any secret.</summary>
public sealed class LightningHttp(HttpClient http, string backend, TimeSpan timeout)
{
    /// <summary>Requests sent so far.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    private long _calls;

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, Uri url, JsonNode? body, Action<HttpRequestHeaders> authorize, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url);
        authorize(request.Headers);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Interlocked.Increment(ref _calls);
        try
        {
            using var response = await http.SendAsync(request, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            var status = (int)response.StatusCode;
            try
            {
                return (status, text.Length == 0 ? null : JsonNode.Parse(text));
            }
            catch (JsonException) when (status >= 400)
            {
                // A proxy's error page: the status says enough.
                return (status, null);
            }
        }
        catch (JsonException e)
        {
            throw new LightningBackendException($"{backend} answered {method} {Resource(url)} with something that is not JSON.", e);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new LightningBackendException($"{backend} could not be reached for {method} {Resource(url)}: {Reason(e)}.", e);
        }
    }

    /// <summary>
    /// A body read line by line (LND's streams), each line parsed; ends when the stream does, or when nothing came for
    /// <paramref name="quiet"/> — headers included: LND's REST proxy sends them with the first line, so a stream with nothing
    /// to tell says nothing at all. A connection refused or broken throws.
    /// </summary>
    public async IAsyncEnumerable<JsonNode> StreamAsync(Uri url, Action<HttpRequestHeaders> authorize, TimeSpan quiet,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        authorize(request.Headers);
        using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        first.CancelAfter(quiet);
        Interlocked.Increment(ref _calls);
        HttpResponseMessage response;
        Stream stream;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, first.Token);
            stream = await response.Content.ReadAsStreamAsync(first.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            yield break;
        }
        catch (HttpRequestException e)
        {
            throw new LightningBackendException($"{backend} could not be reached for GET {Resource(url)}: {Reason(e)}.", e);
        }
        using (response)
        using (var reader = new StreamReader(stream))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new LightningBackendException($"{backend} answered GET {Resource(url)} with HTTP {(int)response.StatusCode}: {ErrorOf(TryParse(await reader.ReadToEndAsync(cancellationToken)))}");
            }
            while (true)
            {
                string? line;
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    wait.CancelAfter(quiet);
                    try
                    {
                        line = await reader.ReadLineAsync(wait.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        yield break;
                    }
                    catch (IOException e)
                    {
                        throw new LightningBackendException($"{backend} broke off GET {Resource(url)}: {e.Message}", e);
                    }
                }
                if (line is null)
                {
                    yield break;
                }
                if (line.Length == 0)
                {
                    continue;
                }
                yield return TryParse(line) ?? throw new LightningBackendException($"{backend} sent a line on GET {Resource(url)} that is not JSON.");
            }
        }
    }

    /// <summary>The error message a backend put in its body (<c>message</c> of BTCPay's and LND's errors, the first of BTCPay's validation list).</summary>
    public static string ErrorOf(JsonNode? body) => body switch
    {
        JsonObject error when error["message"] is JsonValue message => message.ToString(),
        JsonArray { Count: > 0 } list when list[0]?["message"] is JsonValue message => $"{list[0]?["path"]}: {message}",
        _ => "no error message",
    };

    // The path without the query (which may carry a key): enough to say what failed.
    private static string Resource(Uri url) => url.AbsolutePath;

    private static string Reason(Exception e) => e is OperationCanceledException ? "timed out" : e.InnerException?.Message ?? e.Message;

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
