using System.Net;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>
/// The operator's login cookie and antiforgery tokens across instances and restarts: real service processes on one
/// PostgreSQL, each with a home directory of its own (so nothing but the database can share their keys).
/// </summary>
public sealed class DashboardKeyRingTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-keys-").FullName;
    private readonly List<ChildProcess> _services = [];

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(StorageOptions.Postgres);

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private Uri Start(string name)
    {
        var home = Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;
        var (service, url) = ServiceProcess.Start(_store, home, new Dictionary<string, string> { ["HOME"] = home });
        _services.Add(service);
        return url;
    }

    [Fact]
    public async Task A_login_and_a_form_token_made_on_one_instance_are_accepted_by_another_and_after_a_restart()
    {
        var one = Start("one");
        var two = Start("two");
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() });
        var login = await OperatorLogin.PostFormAsync(browser, new Uri(one, "/dashboard/login").ToString(), await OperatorLogin.CsrfAsync(browser, new Uri(one, "/dashboard/login").ToString()),
            ("key", SettlementFactory.OperatorKey));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);

        // Cookies know no port: the same browser, at the other instance.
        using var elsewhere = await browser.GetAsync(new Uri(two, "/dashboard"));
        var formToken = await OperatorLogin.CsrfAsync(browser, new Uri(one, "/dashboard").ToString());
        _services[0].KillHard();
        var three = Start("three");
        using var afterRestart = await browser.GetAsync(new Uri(three, "/dashboard"));
        var logout = await OperatorLogin.PostFormAsync(browser, new Uri(three, "/dashboard/logout").ToString(), formToken);

        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.OK, afterRestart.StatusCode);
        // A form of the first instance, posted to a third one started later: its antiforgery token holds.
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal("/dashboard/login", logout.Headers.Location?.ToString());
    }
}

/// <summary>The login cookie behind a TLS-terminating proxy: Secure when the operator's own request was HTTPS.</summary>
public sealed class DashboardCookieTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" };

    [Theory]
    [InlineData("https", true)]
    [InlineData("http", false)]
    public async Task The_login_cookie_is_secure_when_the_request_the_proxy_forwarded_was_https(string proto, bool secure)
    {
        var browser = OperatorLogin.Anonymous(Factory);
        var csrf = await OperatorLogin.CsrfAsync(browser, "/dashboard/login");
        using var form = new HttpRequestMessage(HttpMethod.Post, "/dashboard/login")
        {
            Content = new FormUrlEncodedContent([new("key", SettlementFactory.OperatorKey), new("__csrf", csrf)]),
        };
        form.Headers.Add("X-Forwarded-Proto", proto);

        using var login = await browser.SendAsync(form);

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("aisa_operator=", StringComparison.Ordinal));
        Assert.Equal(secure, cookie.Contains("; secure", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }
}
