using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Storage.Publishers;

namespace Aisa.Settlement.Storage.Tests.Publishers;

/// <summary>Domain proof in the store: the upgrade that introduced it, and a domain unique among those who proved it.</summary>
public abstract class PublisherStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    [Fact]
    public async Task Upgrading_keeps_every_publisher_charging_as_proven_before_domain_proof_with_its_rules_and_payable()
    {
        await using var test = await CreateTestDatabaseAsync();
        await using var database = test.Open();
        await database.MigrateAsync(17, None);
        var ledger = new SqlLedger(database, TimeProvider.System);
        var payable = await ledger.OpenAccountAsync(AccountCodes.PublisherPayable("old"), AccountKind.PublisherPayable, None);
        await using (var connection = await database.OpenAsync(None))
        {
            await connection.ExecuteAsync(null,
                "INSERT INTO publishers (email, password_hash, name, domain, payable_account_id, created_at) VALUES ('old@example.com', 'h', NULL, 'old.example.com', @payable, 1000)",
                None, ("payable", payable.Id.Value));
            await connection.ExecuteAsync(null,
                """
                INSERT INTO pricing_rules (publisher_id, url_pattern, access_mode, price, billing_type, crawler_type, created_at, updated_at)
                SELECT id, '/', 'pay', 10000, 'per-request', NULL, 1000, 1000 FROM publishers
                """, None);
        }

        await database.MigrateAsync(None);

        var store = new PublisherStore(database, ledger, TimeProvider.System);
        var old = await store.FindByDomainOrEmailAsync("old.example.com", None);
        Assert.NotNull(old);
        Assert.True(old.DomainVerified);
        Assert.Equal("before-domain-proof", old.DomainVerifiedBy);
        Assert.Equal(payable.Id, old.Payable);
        Assert.Single(await new Storage.Pricing.RuleStore(database, TimeProvider.System).ListAsync(old.Id, None));
        // Proven: nobody else may claim it now.
        Assert.Null(await store.RegisterAsync("new@example.com", "h", null, "old.example.com", null, None));
    }

    [Fact]
    public async Task Claims_of_one_domain_may_be_many_until_one_proves_it_and_then_no_other_can()
    {
        await using var test = await CreateTestDatabaseAsync();
        await using var database = test.Open();
        await database.MigrateAsync(None);
        var store = new PublisherStore(database, new SqlLedger(database, TimeProvider.System), TimeProvider.System);

        var squatter = await store.RegisterAsync("squatter@example.com", "h", null, "news.example.com", null, None);
        var owner = await store.RegisterAsync("owner@example.com", "h", null, "news.example.com", null, None);
        var first = await store.FindByDomainOrEmailAsync("news.example.com", None);
        var proved = await store.VerifyDomainAsync(owner!.Id, "well-known", None);
        var racing = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.VerifyDomainAsync(squatter!.Id, "well-known", None)));
        var found = await store.FindByDomainOrEmailAsync("news.example.com", None);

        Assert.Equal(squatter!.Id, first!.Id);
        Assert.Equal(DomainClaim.Verified, proved);
        Assert.All(racing, r => Assert.Equal(DomainClaim.TakenByAnother, r));
        Assert.Equal(owner.Id, found!.Id);
        Assert.Equal(await store.DomainTokenAsync(owner.Id, None), await store.DomainTokenAsync(owner.Id, None));
        Assert.NotEqual(await store.DomainTokenAsync(owner.Id, None), await store.DomainTokenAsync(squatter.Id, None));
    }
}

public sealed class SqlitePublisherStoreTests : PublisherStoreTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresPublisherStoreTests : PublisherStoreTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
