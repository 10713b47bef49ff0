using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Api.Tests.Dashboard;
using Aisa.Settlement.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Publishers;

/// <summary>
/// Domain proof against a real local HTTPS site (Kestrel with a certificate made for the publisher's domain): the
/// service resolves the domain to that site's loopback address and port, and trusts its certificate, in place of DNS
/// and the system's authorities; everything else — TLS, the address check, redirects, size — is the service's own.
/// </summary>
public abstract class DomainProofTests(string provider, bool allowPrivate) : ServiceTests(provider), IAsyncLifetime
{
    private readonly Dictionary<string, Func<HttpContext, IResult>> _answers = new(StringComparer.Ordinal);
    private WebApplication _site = null!;
    private X509Certificate2 _certificate = null!;
    private int _port;

    protected string Domain { get; } = $"site-{Guid.NewGuid():N}.example.com";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Publishers:DomainVerification"] = "well-known",
        ["Publishers:AllowPrivateNetworks"] = allowPrivate ? "true" : "false",
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton(new DomainProofNetwork(
            (target, _) => Task.FromResult(target.Host.EndsWith(".example.com", StringComparison.Ordinal) ? new[] { new IPEndPoint(IPAddress.Loopback, _port) } : []),
            _certificate));

    async Task IAsyncLifetime.InitializeAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={Domain}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(Domain);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(_certificate)));
        _site = builder.Build();
        _site.MapGet(DomainProof.Path, (HttpContext context) => _answers.TryGetValue("proof", out var answer) ? answer(context) : Results.NotFound());
        await _site.StartAsync();
        _port = new Uri(_site.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        await InitializeAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _site.DisposeAsync();
        _certificate.Dispose();
    }

    protected void Serve(Func<HttpContext, IResult> answer) => _answers["proof"] = answer;

    protected async Task<(string Session, long Id)> RegisterAsync(string? domain = null)
    {
        var reply = await Client.PostAsync("/api/publisher/auth/register", new { email = AisaClient.UniqueEmail("publisher"), password = "correct horse", domain = domain ?? Domain });
        Assert.True(reply.Code == 201, reply.Raw);
        var session = reply.Body.GetProperty("token").GetString()!;
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        return (session, reply.Body.GetProperty("publisher").GetProperty("id").GetInt64());
    }

    protected async Task<Registered> FundedCrawlerAsync()
    {
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 1m);
        return agent;
    }

    protected Task<Reply> VerifyAsync(Registered agent, string path = "/a") =>
        Client.VerifyAsync(new { publisherDomain = Domain, resourceUrl = path, crawlerAutoPrice = true }, agent.CrawlerToken);

    protected Task<Reply> CheckAsync(string session) => Client.SendAsync(HttpMethod.Post, "/api/publisher/domain-proof/check", headers: AisaClient.Bearer(session));

    protected async Task<string> TokenAsync(string session) =>
        (await Client.SendAsync(HttpMethod.Get, "/api/publisher/domain-proof", headers: AisaClient.Bearer(session))).Body.GetProperty("token").GetString()!;
}

/// <summary>Tests only: the local site is on loopback, so fetching from private addresses is allowed here.</summary>
public abstract class DomainProofOnLocalSiteTests(string provider) : DomainProofTests(provider, allowPrivate: true)
{
    [Fact]
    public async Task An_unproven_publisher_charges_nothing_until_it_serves_its_token_over_HTTPS()
    {
        var (session, _) = await RegisterAsync();
        var agent = await FundedCrawlerAsync();

        var before = await VerifyAsync(agent);
        var proof = await Client.SendAsync(HttpMethod.Get, "/api/publisher/domain-proof", headers: AisaClient.Bearer(session));
        var token = proof.Body.GetProperty("token").GetString()!;
        var notServed = await CheckAsync(session);
        Serve(_ => Results.Text("someone else's token\n"));
        var wrong = await CheckAsync(session);
        Serve(_ => Results.Text(new string('x', 5000)));
        var tooLong = await CheckAsync(session);
        Serve(_ => Results.Redirect($"https://elsewhere.example.net{DomainProof.Path}"));
        var redirected = await CheckAsync(session);
        Serve(_ => Results.Text(token + "\n"));
        var proven = await CheckAsync(session);
        var again = await CheckAsync(session);
        var after = await VerifyAsync(agent);

        Assert.True(before.Status == HttpStatusCode.Forbidden && before.Error == "publisher_unverified", before.Raw);
        Assert.False(proof.Body.GetProperty("verified").GetBoolean());
        Assert.Equal($"https://{Domain}/.well-known/aisa-publisher.txt", proof.Body.GetProperty("url").GetString());
        Assert.StartsWith("aisa-publisher-", token, StringComparison.Ordinal);
        Assert.Equal(token, await TokenAsync(session));
        Assert.All(new[] { notServed, wrong, tooLong, redirected }, r => Assert.True(r.Code == 422 && r.Error == "domain_proof_failed", r.Raw));
        Assert.Contains("404", notServed.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("redirect", redirected.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("1024 bytes", tooLong.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, proven.Code);
        Assert.True(proven.Body.GetProperty("verified").GetBoolean());
        Assert.Equal("well-known", proven.Body.GetProperty("verifiedBy").GetString());
        Assert.Equal(200, again.Code);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(0.99m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task The_dashboards_check_now_button_runs_the_same_check_shows_its_reason_and_then_the_proven_domain()
    {
        var browser = OperatorLogin.Anonymous(Factory);
        var email = AisaClient.UniqueEmail("publisher");
        var signedUp = await OperatorLogin.PostFormAsync(browser, "/publisher/signup", await OperatorLogin.CsrfAsync(browser, "/publisher/signup"),
            ("email", email), ("password", "correct horse"), ("domain", Domain));
        Assert.Equal(HttpStatusCode.Redirect, signedUp.StatusCode);
        var session = (await Client.Publishers.LoginAsync(email, "correct horse")).Required.Token;
        var token = await TokenAsync(session);

        var page = await browser.GetStringAsync(new Uri("/publisher/", UriKind.Relative));
        var forged = await OperatorLogin.PostFormAsync(browser, "/publisher/domain/check", null);
        Serve(_ => Results.Text("someone else's token\n"));
        var wrong = await OperatorLogin.PostFormAsync(browser, "/publisher/domain/check", await OperatorLogin.CsrfAsync(browser, "/publisher/"));
        var wrongPage = await wrong.Content.ReadAsStringAsync();
        var stillUnproven = await Client.SendAsync(HttpMethod.Get, "/api/publisher/domain-proof", headers: AisaClient.Bearer(session));
        Serve(_ => Results.Text(token + "\n"));
        var proven = await OperatorLogin.PostFormAsync(browser, "/publisher/domain/check", await OperatorLogin.CsrfAsync(browser, "/publisher/"));
        var after = await browser.GetStringAsync(new Uri(proven.Headers.Location!.OriginalString, UriKind.Relative));

        Assert.Contains("not proven", page, StringComparison.Ordinal);
        Assert.Contains(token, page, StringComparison.Ordinal);
        Assert.Contains("action=\"/publisher/domain/check\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.StatusCode);
        Assert.Contains("class=\"error\"", wrongPage, StringComparison.Ordinal);
        Assert.Contains("does not hold this publisher", wrongPage, StringComparison.Ordinal);
        Assert.False(stillUnproven.Body.GetProperty("verified").GetBoolean());
        Assert.Equal(HttpStatusCode.Redirect, proven.StatusCode);
        Assert.Contains("Your domain is proven", after, StringComparison.Ordinal);
        Assert.Contains("id=\"domain-state\">proven<", after, StringComparison.Ordinal);
        Assert.DoesNotContain("/publisher/domain/check", after, StringComparison.Ordinal);
        Assert.Equal("well-known", (await Client.SendAsync(HttpMethod.Get, "/api/publisher/domain-proof", headers: AisaClient.Bearer(session))).Body.GetProperty("verifiedBy").GetString());
    }

    [Fact]
    public async Task A_squatter_cannot_keep_the_owner_out_and_once_proven_the_domain_is_the_owners_alone()
    {
        var (squatter, _) = await RegisterAsync();
        var (owner, _) = await RegisterAsync();
        var agent = await FundedCrawlerAsync();
        var ownerToken = await TokenAsync(owner);
        Serve(_ => Results.Text(ownerToken));

        var squatterCheck = await CheckAsync(squatter);
        var ownerCheck = await CheckAsync(owner);
        var squatterLater = await CheckAsync(squatter);
        var third = await Client.PostAsync("/api/publisher/auth/register", new { email = AisaClient.UniqueEmail("publisher"), password = "correct horse", domain = Domain });
        var charged = await VerifyAsync(agent);
        var ownerEarnings = await Client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(owner));
        var squatterEarnings = await Client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(squatter));

        Assert.Equal(422, squatterCheck.Code);
        Assert.Equal(200, ownerCheck.Code);
        Assert.True(squatterLater.Code == 409 && squatterLater.Error == "domain_taken", squatterLater.Raw);
        Assert.Equal(409, third.Code);
        Assert.Equal(HttpStatusCode.OK, charged.Status);
        Assert.True(ownerEarnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal() > 0m);
        Assert.Equal(0m, squatterEarnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
    }

    [Fact]
    public async Task An_operator_verifies_a_publisher_by_hand()
    {
        var (_, id) = await RegisterAsync();
        var agent = await FundedCrawlerAsync();

        var refused = await VerifyAsync(agent);
        var noKey = await Client.SendAsync(HttpMethod.Post, $"/api/operator/publishers/{id}/verify");
        var verified = await Client.SendAsync(HttpMethod.Post, $"/api/operator/publishers/{id}/verify", headers: AisaClient.Operator());
        var unknown = await Client.SendAsync(HttpMethod.Post, "/api/operator/publishers/999999/verify", headers: AisaClient.Operator());
        var charged = await VerifyAsync(agent);

        Assert.Equal("publisher_unverified", refused.Error);
        Assert.Equal(401, noKey.Code);
        Assert.Equal(200, verified.Code);
        Assert.Equal("operator", verified.Body.GetProperty("verifiedBy").GetString());
        Assert.Equal(404, unknown.Code);
        Assert.Equal(HttpStatusCode.OK, charged.Status);
    }
}

public sealed class SqliteDomainProofTests() : DomainProofOnLocalSiteTests(StorageOptions.Sqlite);

public sealed class PostgresDomainProofTests() : DomainProofOnLocalSiteTests(StorageOptions.Postgres);

/// <summary>As deployed: the same site, but its address is loopback, and the proof is fetched from public addresses only.</summary>
public sealed class DomainProofPrivateAddressTests() : DomainProofTests(StorageOptions.Sqlite, allowPrivate: false)
{
    [Fact]
    public async Task The_proof_is_not_fetched_from_a_private_address_when_that_is_not_allowed()
    {
        var (session, _) = await RegisterAsync();
        var token = await TokenAsync(session);
        var fetched = 0;
        Serve(_ =>
        {
            Interlocked.Increment(ref fetched);
            return Results.Text(token);
        });

        var check = await CheckAsync(session);
        var agent = await FundedCrawlerAsync();
        var verify = await VerifyAsync(agent);

        Assert.True(check.Code == 422 && check.Error == "domain_proof_failed", check.Raw);
        Assert.Contains("private, loopback or reserved address", check.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, fetched);
        Assert.Equal("publisher_unverified", verify.Error);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("93.184.215.14", true)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("2001:db8::1", false)]
    [InlineData("2606:4700::1111", true)]
    public void Public_addresses_are_told_from_the_inside_ones(string address, bool isPublic) =>
        Assert.Equal(isPublic, Aisa.Settlement.Api.Http.PublicNetwork.IsPublic(IPAddress.Parse(address)));
}
