using Hangfire.Logging;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// Hangfire's log lines in this service's log. Hangfire has one log provider per process (a static), and its classes keep
/// their loggers for ever; so each line is written to the logger factory of a service that is running at that moment,
/// never to one that has stopped (several services in one process: the tests).
/// </summary>
public sealed class HangfireLogs : ILogProvider
{
    private static readonly HangfireLogs Instance = new();
    private static readonly List<ILoggerFactory> Running = [];

    /// <summary>
    /// Set before anything of Hangfire's is made: a Hangfire class takes its logger once, from the provider set at that
    /// moment (none would give it a logger that never writes).
    /// </summary>
    public static void Install() => LogProvider.SetCurrentLogProvider(Instance);

    public static void Attach(ILoggerFactory factory)
    {
        lock (Running)
        {
            Running.Add(factory);
        }
    }

    public static void Detach(ILoggerFactory factory)
    {
        lock (Running)
        {
            Running.Remove(factory);
        }
    }

    public ILog GetLogger(string name) => new Writer(name);

    private static ILoggerFactory? Current()
    {
        lock (Running)
        {
            return Running.Count == 0 ? null : Running[^1];
        }
    }

    private sealed class Writer(string name) : ILog
    {
        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            while (Current() is { } factory)
            {
                try
                {
                    return Write(factory.CreateLogger(name), logLevel, messageFunc, exception);
                }
                catch (ObjectDisposedException)
                {
                    // Its service stopped between being chosen and being written to (a line from another service's Hangfire
                    // thread): the next running one takes the line. A log line never throws into Hangfire's threads.
                    Detach(factory);
                }
            }
            return false;
        }

        private static bool Write(ILogger logger, Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception)
        {
            var level = logLevel switch
            {
                Hangfire.Logging.LogLevel.Trace => MsLogLevel.Trace,
                Hangfire.Logging.LogLevel.Debug => MsLogLevel.Debug,
                Hangfire.Logging.LogLevel.Info => MsLogLevel.Information,
                Hangfire.Logging.LogLevel.Warn => MsLogLevel.Warning,
                Hangfire.Logging.LogLevel.Error => MsLogLevel.Error,
                _ => MsLogLevel.Critical,
            };
            if (messageFunc is null || !logger.IsEnabled(level))
            {
                return logger.IsEnabled(level);
            }
            logger.Log(level, exception, "{Message}", messageFunc());
            return true;
        }
    }
}
