using Aisa.Settlement.Api.Jobs;
using Hangfire.Logging;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Api.Tests.Jobs;

public sealed class HangfireLogsTests
{
    /// <summary>
    /// A service stops (its logger factory disposed) while another service's Hangfire thread writes a line: the line goes to a
    /// running service or nowhere, and never throws — thrown on Hangfire's dispatcher thread, it ended the whole process.
    /// </summary>
    [Fact]
    public void A_line_written_after_the_latest_service_stopped_goes_elsewhere_and_never_throws()
    {
        HangfireLogs.Install();
        using var running = LoggerFactory.Create(_ => { });
        var stopped = LoggerFactory.Create(_ => { });
        HangfireLogs.Attach(running);
        HangfireLogs.Attach(stopped);
        stopped.Dispose();
        try
        {
            var log = LogProvider.GetLogger("Hangfire.Server.BackgroundServerProcess");

            var exception = Record.Exception(() => log.Log(Hangfire.Logging.LogLevel.Error, () => "a line from another service's server", null));

            Assert.Null(exception);
        }
        finally
        {
            HangfireLogs.Detach(stopped);
            HangfireLogs.Detach(running);
        }
    }
}
