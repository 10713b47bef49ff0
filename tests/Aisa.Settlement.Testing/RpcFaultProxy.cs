using System.Net;
using System.Net.Sockets;

namespace Aisa.Settlement.Testing;

public enum RpcFault
{
    None,
    /// <summary>Nothing listens on the port: connection refused.</summary>
    Down,
    Http500,
    MalformedJson,
    /// <summary>Answers only after the client's timeout.</summary>
    Slow,
    /// <summary>Passes the request on, then loses the answer (HTTP 500): the peer did the work, the caller cannot know.</summary>
    LoseAnswer,
    /// <summary>Passes the request on and answers what <see cref="RpcFaultProxy.Rewrite"/> makes of the peer's answer: a peer that lies.</summary>
    Rewrite,
}

/// <summary>An HTTP proxy in front of a real peer (a node, a facilitator) that can fail the way such services fail.</summary>
public sealed class RpcFaultProxy : IDisposable
{
    private readonly Uri _node;
    private readonly HttpClient _http = new();
    private HttpListener? _listener;
    private RpcFault _fault;
    private TaskCompletionSource? _gate;
    private int _held;

    public RpcFaultProxy(Uri node)
    {
        _node = node;
        // A free port is only free when it is picked: taken by another server meanwhile, the proxy takes another.
        for (var attempt = 1; ; attempt++)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Url = new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
            }
            try
            {
                Listen();
                return;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
    }

    public Uri Url { get; private set; } = null!;

    public TimeSpan SlowDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Only requests whose path ends with this fail; the others pass. Null: every request.</summary>
    public string? FaultPath { get; set; }

    /// <summary>Only requests whose body this says yes to fail; the others pass. Null: every request.</summary>
    public Func<string, bool>? FaultWhen { get; set; }

    /// <summary>How long every request waits before it is passed on: a slow but working node.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>With <see cref="RpcFault.Rewrite"/>: the answer the caller gets instead of the peer's.</summary>
    public Func<string, string>? Rewrite { get; set; }

    /// <summary>Called with each request's body once the peer has answered it, before the caller gets the answer: the moment to kill the caller.</summary>
    public Action<string>? AfterForward { get; set; }

    /// <summary>Requests waiting at the gate <see cref="Hold"/> closed.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>From now on every request waits, unanswered, until <see cref="Release"/>: a pass stuck in the middle, for as long as a test needs.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the waiting requests (and every later one) through.</summary>
    public void Release()
    {
        var gate = _gate;
        _gate = null;
        gate?.TrySetResult();
    }

    /// <summary>The path of every request that reached the proxy, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Paths { get; } = new();

    public RpcFault Fault
    {
        get => _fault;
        set
        {
            _fault = value;
            if (value == RpcFault.Down)
            {
                _listener?.Close();
                _listener = null;
            }
            else if (_listener is null)
            {
                Listen();
            }
        }
    }

    private void Listen()
    {
        var listener = new HttpListener();
        listener.Prefixes.Add(Url.ToString());
        try
        {
            listener.Start();
        }
        catch (HttpListenerException)
        {
            listener.Close();
            throw;
        }
        _listener = listener;
        _ = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                _ = Task.Run(() => AnswerAsync(context));
            }
        });
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            Paths.Enqueue(context.Request.Url!.AbsolutePath);
            var body = context.Request.HasEntityBody ? await new StreamReader(context.Request.InputStream).ReadToEndAsync() : null;
            var fault = (FaultPath is null || context.Request.Url!.AbsolutePath.EndsWith(FaultPath, StringComparison.Ordinal))
                && (FaultWhen is not { } when || (body is not null && when(body))) ? _fault : RpcFault.None;
            if (_gate is { } gate)
            {
                Interlocked.Increment(ref _held);
                try
                {
                    await gate.Task;
                }
                finally
                {
                    Interlocked.Decrement(ref _held);
                }
            }
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay);
            }
            switch (fault)
            {
                case RpcFault.Http500:
                    context.Response.StatusCode = 500;
                    await context.Response.OutputStream.WriteAsync("upstream error"u8.ToArray());
                    break;
                case RpcFault.MalformedJson:
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/json";
                    await context.Response.OutputStream.WriteAsync("{\"jsonrpc\":\"2.0\",\"result\":[tru"u8.ToArray());
                    break;
                default:
                    if (fault == RpcFault.Slow)
                    {
                        await Task.Delay(SlowDelay);
                    }
                    using (var forward = new HttpRequestMessage(new HttpMethod(context.Request.HttpMethod), new Uri(_node, context.Request.Url!.PathAndQuery)))
                    {
                        if (body is not null)
                        {
                            forward.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                        }
                        using var answer = await _http.SendAsync(forward);
                        if (body is not null)
                        {
                            AfterForward?.Invoke(body);
                        }
                        if (fault == RpcFault.LoseAnswer)
                        {
                            context.Response.StatusCode = 500;
                            break;
                        }
                        context.Response.StatusCode = (int)answer.StatusCode;
                        context.Response.ContentType = "application/json";
                        var bytes = await answer.Content.ReadAsByteArrayAsync();
                        if (fault == RpcFault.Rewrite && Rewrite is { } rewrite)
                        {
                            bytes = System.Text.Encoding.UTF8.GetBytes(rewrite(System.Text.Encoding.UTF8.GetString(bytes)));
                        }
                        await context.Response.OutputStream.WriteAsync(bytes);
                    }
                    break;
            }
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException or HttpRequestException)
        {
            // The client gave up (a timeout) or the proxy was closed: nothing to answer.
        }
    }

    public void Dispose()
    {
        Release();
        _listener?.Close();
        _http.Dispose();
    }
}
