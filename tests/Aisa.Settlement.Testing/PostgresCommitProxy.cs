using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A TCP proxy in front of the real PostgreSQL server that can lose the server's answer to a <c>COMMIT</c>: the
/// statement reaches the server and commits, then the connection breaks before the client hears so, as when a network
/// fails at the worst moment. Everything else passes through unchanged.
/// </summary>
public sealed class PostgresCommitProxy : IAsyncDisposable
{
    private static readonly byte[] Commit = Encoding.ASCII.GetBytes("COMMIT\0");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private int _toLose;
    private int _lost;

    private PostgresCommitProxy(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _host = builder.Host ?? "127.0.0.1";
        _port = builder.Port;
        _listener.Start();
        var proxied = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            // Without the pool a broken connection is never handed out again.
            Pooling = false,
        };
        ConnectionString = proxied.ConnectionString;
        _ = AcceptAsync();
    }

    /// <summary>The same database, reached through this proxy.</summary>
    public string ConnectionString { get; }

    /// <summary>How many COMMIT answers were lost so far: a test shows the fault happened.</summary>
    public int Lost => Volatile.Read(ref _lost);

    public static PostgresCommitProxy Start(string connectionString) => new(connectionString);

    /// <summary>The next COMMIT any connection sends is executed by the server, and its answer never reaches the client.</summary>
    public void LoseNextCommitAnswer() => Interlocked.Increment(ref _toLose);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_host, _port, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return;
        }
        var losing = 0;
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var toServer = PumpAsync(client.GetStream(), server.GetStream(), chunk =>
        {
            if (chunk.AsSpan().IndexOf(Commit) >= 0 && TakeOneToLose())
            {
                Interlocked.Exchange(ref losing, 1);
            }
            return true;
        }, broken.Token);
        var toClient = PumpAsync(server.GetStream(), client.GetStream(), _ =>
        {
            if (Interlocked.Exchange(ref losing, 0) == 1)
            {
                // The server has committed and answers: the client never hears it.
                Interlocked.Increment(ref _lost);
                return false;
            }
            return true;
        }, broken.Token);
        await Task.WhenAny(toServer, toClient);
        await broken.CancelAsync();
    }

    private bool TakeOneToLose()
    {
        while (true)
        {
            var left = Volatile.Read(ref _toLose);
            if (left == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _toLose, left - 1, left) == left)
            {
                return true;
            }
        }
    }

    /// <summary>Copies until either side closes or <paramref name="forward"/> says to break the connection.</summary>
    private static async Task PumpAsync(NetworkStream from, NetworkStream to, Func<byte[], bool> forward, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, cancellationToken);
                if (read == 0 || !forward(buffer[..read]))
                {
                    return;
                }
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
