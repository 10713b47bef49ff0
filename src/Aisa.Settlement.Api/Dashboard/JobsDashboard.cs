using System.Net;
using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Storage.Jobs;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>
/// Hangfire's dashboard at <c>/dashboard/jobs</c>, behind the operator login (its POST actions checked against the
/// console's antiforgery token), with a Confirmations page added to its navigation: every open deposit of every rail with
/// its live k/N or finality, and each recurring job's last pass, lag, and pause, resume and run-now.
/// </summary>
public static class JobsDashboard
{
    public const string Path = "/dashboard/jobs";
    public const string ConfirmationsPath = "/confirmations";

    private static readonly Lock Registering = new();
    private static bool _registered;

    public static IEndpointRouteBuilder MapJobsDashboard(this IEndpointRouteBuilder endpoints)
    {
        RegisterPages();
        endpoints.MapHangfireDashboardWithAuthorizationPolicy(DashboardAuth.Policy, Path, new DashboardOptions
        {
            AppPath = "/dashboard",
            DashboardTitle = "AISA jobs",
            // Its footer would name the database.
            DisplayStorageConnectionString = false,
            StatsPollingInterval = 5_000,
        }, endpoints.ServiceProvider.GetRequiredService<JobStorage>());
        return endpoints;
    }

    /// <summary>Hangfire's routes and menu are process-wide: the page is added once, and reads the services of the request it answers.</summary>
    private static void RegisterPages()
    {
        lock (Registering)
        {
            if (_registered)
            {
                return;
            }
            DashboardRoutes.Routes.AddRazorPage(ConfirmationsPath, _ => new ConfirmationsPage());
            DashboardRoutes.Routes.Add(ConfirmationsPath + "/(?<action>pause|resume|run)/(?<job>[^/]+)", new JobControlDispatcher());
            NavigationMenu.Items.Add(page => new MenuItem("Confirmations", page.Url.To(ConfirmationsPath))
            {
                Active = page.RequestPath.StartsWith(ConfirmationsPath, StringComparison.OrdinalIgnoreCase),
            });
            _registered = true;
        }
    }

    /// <summary>The page itself: its tables follow <c>/dashboard/api/confirmations</c> every second (dashboard.js).</summary>
    private sealed class ConfirmationsPage : RazorPage
    {
        public override void Execute()
        {
            Layout = new LayoutPage("Confirmations");
            var controls = WebUtility.HtmlEncode(Url.To(ConfirmationsPath));
            WriteLiteral($$"""
                <div class="row"><div class="col-md-12 aisa-confirmations">
                <h1 class="page-header">Confirmations</h1>
                <p class="text-muted">Each recurring job where its last pass stands, and every deposit still open on any rail (and those that moved in
                the last 10 minutes) with its confirmations k/N or the finality its rail waits for. Updated every second. A pause holds on every
                instance; "Run now" runs a pass at once, paused or not. Every run, with its error, is under <a href="{{WebUtility.HtmlEncode(Url.To("/jobs/succeeded"))}}">Jobs</a>;
                deposits with their evidence and the ledger are in the <a href="/dashboard">operator console</a>.</p>
                <h3>Watchers and jobs</h3>
                <table class="table table-condensed" id="watchers" data-controls="{{controls}}">
                <thead><tr><th>job</th><th>schedule</th><th>last pass</th><th>lag</th><th>head</th><th>last summary</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
                <h3>Open deposits</h3>
                <table class="table table-condensed" id="confirmations">
                <thead><tr><th>deposit</th><th>rail</th><th>state</th><th>confirmations</th><th>amount</th><th>agent</th><th>evidence</th><th>updated</th></tr></thead><tbody></tbody></table>
                <p class="text-muted" id="confirmations-updated"></p>
                </div></div>
                <style>
                .aisa-confirmations .bar { position: relative; width: 9rem; height: 1rem; background: #e6e6ef; border-radius: 3px; overflow: hidden; display: inline-block; vertical-align: middle; }
                .aisa-confirmations .bar > span { position: absolute; top: 0; bottom: 0; left: 0; background: #3b6ef5; }
                .aisa-confirmations .bar.done > span { background: #1b7f3b; }
                .aisa-confirmations tr.highlight td { background: #fff4e5; }
                .aisa-confirmations tr.failed td { background: #fdecea; }
                .aisa-confirmations .mono { font-family: monospace; font-size: 12px; word-break: break-all; }
                .aisa-confirmations .evidence-latest { color: #555; font-size: 11px; margin-top: 2px; }
                </style>
                <script src="/dashboard/assets/dashboard.js" defer></script>
                """);
        }
    }

    /// <summary>POST …/confirmations/{pause|resume|run}/{job}: the antiforgery token is checked by Hangfire's middleware first.</summary>
    private sealed class JobControlDispatcher : IDashboardDispatcher
    {
        public async Task Dispatch(DashboardContext context)
        {
            if (context.IsReadOnly)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }
            var http = context.GetHttpContext();
            var services = http.RequestServices;
            var action = context.UriMatch.Groups["action"].Value;
            var job = Uri.UnescapeDataString(context.UriMatch.Groups["job"].Value);
            if (services.GetRequiredService<RecurringJobs>().Find(job) is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            var jobs = services.GetRequiredService<JobStore>();
            switch (action)
            {
                case "run":
                    // Stored, so the pass that takes the lease runs it even while the job is paused; triggered, so one does at once.
                    await jobs.RequestRunAsync(job, http.RequestAborted);
                    services.GetRequiredService<IRecurringJobManager>().Trigger(job);
                    break;
                default:
                    await jobs.SetPausedAsync(job, action == "pause", http.RequestAborted);
                    break;
            }
            services.GetRequiredService<ILogger<DashboardLogin>>().LogInformation("Dashboard: {Action} {Job}.", action, job);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
    }
}
