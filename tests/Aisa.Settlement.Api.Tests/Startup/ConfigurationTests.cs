using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Startup;

public sealed class ConfigurationTests
{
    [Fact]
    public void The_example_settings_file_holds_only_settings_the_service_knows_and_accepts()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "appsettings.example.json"), optional: false)
            .Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out var settings);

        // A template: its one placeholder, the operator key, must be replaced before it runs anywhere.
        Assert.Equal(["Operator:ApiKey is the example's placeholder: set a long random key of your own (e.g. openssl rand -hex 32)."], problems);
        Assert.Equal("sqlite", settings.Storage.Provider);
        Assert.Contains(settings.Rails.Passes, p => p.Name == "watch:base");
        Assert.Contains(settings.Rails.Passes, p => p.Name == "watch:solana");
        Assert.Contains(settings.Rails.Passes, p => p.Name == "watch:lightning");
        // Lightning pays out in the example (no key of its own); the chains' keys are never in a settings file.
        Assert.Equal(["lightning"], settings.Rails.Payers.Select(p => p.Value));
        Assert.Equal(84532, Aisa.Settlement.Adapters.Evm.EvmRails.Bind(configuration, new Aisa.Settlement.Rails.RailSetup())["base"].ChainId);
    }

    [Theory]
    [InlineData("Rails:Evm:Chains:base:ChainId", "0", "Rails:Evm:Chains:base:ChainId is required")]
    [InlineData("Rails:Evm:Chains:base:Xpub", "xpub-not-a-key", "Rails:Evm:Chains:base:Xpub is not an extended public key")]
    [InlineData("Rails:Evm:Chains:base:ChainId", "8453", "is a published test key")]
    [InlineData("Rails:Evm:Chains:base:RpcUrls:0", "ftp://node/secret-key", "Rails:Evm:Chains:base:RpcUrls[0] is not an http(s) URL")]
    [InlineData("Rails:Evm:Chains:base:Tokens:0:Address", "0x1234", "Rails:Evm:Chains:base:Tokens[0]:Address is not a 20-byte hex address")]
    [InlineData("Rails:Evm:Chains:base:PollIntervalSeconds", "0", "PollIntervalSeconds must be from 1 to 3600")]
    [InlineData("Rails:Evm:Chains:base:Confirmatons", "3", "Rails:Evm:Chains:base:Confirmatons is not a setting")]
    [InlineData("Rails:Evm:Chains:solana:ChainId", "1", "Rails:Evm:Chains:solana: the chain is one of base, polygon, bnb")]
    [InlineData("Rails:X402:Network", "eip155:56", "BNB Smart Chain's USDC (Binance-Peg) has no EIP-3009")]
    [InlineData("Rails:X402:RpcUrls:0", "node.example/secret-key", "Rails:X402:RpcUrls needs at least one http(s) JSON-RPC URL")]
    [InlineData("Rails:Stripe:SecretKey", "pk_live_publishable", "Rails:Stripe:SecretKey is required: a Stripe secret")]
    [InlineData("Rails:Stripe:WebhookSecret", "secret-key", "Rails:Stripe:WebhookSecret (or WebhookSecrets) is required")]
    [InlineData("Rails:X402:Confirm", "sometimes", "Rails:X402:Confirm is facilitator (credit once settled) or watcher")]
    [InlineData("Rails:X402:PayTo", "treasury", "Rails:X402:PayTo must be the treasury's 20-byte hex address")]
    [InlineData("Rails:X402:Networks:0:Network", "eip155:137", "list the networks in Rails:X402:Networks, or give one network's keys (Network, PayTo, Asset, RpcUrls, …) at the top level; not both")]
    [InlineData("Rails:X402:Networks:0:PayTo", "treasury-secret-key", "Rails:X402:Networks:0:PayTo must be the treasury's 20-byte hex address")]
    [InlineData("Rails:X402:Networks:0:Confirmations", "3", "Rails:X402:Networks:0:Confirmations is not a setting")]
    [InlineData("Rails:Lightning:RequestInvoicesPerMinute", "-1", "Rails:Lightning:RequestInvoicesPerMinute must be from 0 to 100000")]
    [InlineData("Rails:Solana:TreasuryOwner", "treasury-secret-key", "Rails:Solana:TreasuryOwner is not a Solana public key")]
    [InlineData("Rails:Solana:TreasuryOwner", "GBjQPkFGJf3q2LYgMshHqgsXFFnDnqHCAcJZmUVHmCBm", "Rails:Solana:TreasuryOwner is not a wallet's key (it is off the Ed25519 curve")]
    [InlineData("Rails:Solana:TreasuryOwner", "", "Rails:Solana:TreasuryOwner is required")]
    [InlineData("Rails:Solana:UsdcMint", "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913", "Rails:Solana:UsdcMint is not a Solana public key")]
    [InlineData("Rails:Solana:RpcUrls:1", "ws://node/secret-key", "Rails:Solana:RpcUrls[1] is not an http(s) URL")]
    [InlineData("Rails:Solana:MaxSignaturesPerPass", "0", "Rails:Solana:MaxSignaturesPerPass must be from 1 to 100000")]
    [InlineData("Rails:Solana:Commitment", "confirmed", "Rails:Solana:Commitment is not a setting")]
    [InlineData("Rails:Lightning:Backend", "eclair", "Rails:Lightning:Backend is btcpay or lnd")]
    [InlineData("Rails:Lightning:Network", "liquid", "Rails:Lightning:Network is mainnet, testnet, signet or regtest")]
    [InlineData("Rails:Lightning:Network", "2", "Rails:Lightning:Network is mainnet, testnet, signet or regtest")]
    [InlineData("Rails:Lightning:InvoiceExpirySeconds", "10", "Rails:Lightning:InvoiceExpirySeconds must be from 60 to 86400")]
    [InlineData("Rails:Lightning:BtcPay:Url", "btcpay.example/secret-key", "Rails:Lightning:BtcPay:Url is required")]
    [InlineData("Rails:Lightning:BtcPay:ApiKey", "", "Rails:Lightning:BtcPay:ApiKey is required")]
    [InlineData("Rails:Lightning:BtcPay:StoreId", "store/secret-key", "Rails:Lightning:BtcPay:StoreId is required")]
    [InlineData("Rails:Lightning:BtcPay:Secret", "secret-key", "Rails:Lightning:BtcPay:Secret is not a setting")]
    [InlineData("Rails:Lightning:Lnd:Macaroon", "secret-key", "Rails:Lightning:Lnd:Macaroon is not a setting")]
    [InlineData("Rails:Lightning:Confirmations", "3", "Rails:Lightning:Confirmations is not a setting")]
    [InlineData("Rails:Evm:Chains:base:Payouts:PrivateKey", "0x12-secret-key", "Rails:Evm:Chains:base:Payouts: the private key is not 64 hex digits")]
    [InlineData("Rails:Evm:Chains:base:Payouts:PrivateKey", "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", "the private key is not a secp256k1 key")]
    [InlineData("Rails:Evm:Chains:base:Payouts:KeyFile", "/nonexistent/secret-key", "Rails:Evm:Chains:base:Payouts: KeyFile cannot be read")]
    [InlineData("Rails:Evm:Chains:base:Payouts:Token", "DAI", "Rails:Evm:Chains:base:Payouts:Token DAI is not one of the chain's Tokens")]
    [InlineData("Rails:Evm:Chains:base:Payouts:Key", "secret-key", "Rails:Evm:Chains:base:Payouts:Key is not a setting")]
    [InlineData("Rails:Solana:Payouts:PrivateKey", "secret-key", "Rails:Solana:Payouts: the key is not base58")]
    [InlineData("Rails:Solana:Payouts:PrivateKey", "11111111111111111111111111111111", "Rails:Solana:Payouts: the key is not TreasuryOwner's")]
    [InlineData("Rails:Solana:Payouts:Seed", "secret-key", "Rails:Solana:Payouts:Seed is not a setting")]
    [InlineData("Rails:Lightning:Payouts:MaxFeePercent", "50", "Rails:Lightning:Payouts:MaxFeePercent must be from 0 to 10")]
    [InlineData("Rails:Lightning:Payouts:MacaroonHex", "secret-key", "Rails:Lightning:Payouts:MacaroonHex is for LND")]
    [InlineData("Rails:Lightning:Payouts:Macaroon", "secret-key", "Rails:Lightning:Payouts:Macaroon is not a setting")]
    [InlineData("Payouts:Schedule", "every day", "Payouts:Schedule is not a cron expression")]
    [InlineData("Payouts:Minimums:solana", "2", "Payouts:Minimums:solana names no payout rail of this configuration")]
    [InlineData("Payouts:ApprovalThreshold", "-1", "Payouts:ApprovalThreshold must be a positive USD amount")]
    [InlineData("Payouts:Approval", "5", "Payouts:Approval is not a setting")]
    [InlineData("Notifications:LowBalance", "-1", "Notifications:LowBalance is from 0 (no notice) to 1000000 USD")]
    [InlineData("Notifications:LowBalance", "0.0000001", "Notifications:LowBalance is from 0 (no notice) to 1000000 USD, to the micro")]
    [InlineData("Scheduling:LeaseSeconds", "1", "Scheduling:LeaseSeconds must be from 2 to 3600")]
    [InlineData("Scheduling:RunHistoryDays", "7", "Scheduling:RunHistoryDays is not a setting")]
    [InlineData("Operator:ApiKey", "Replace-With-your-own-key-please", "Operator:ApiKey is the example's placeholder")]
    [InlineData("Platform:PublicUrl", "pay.example.com/secret-key", "Platform:PublicUrl must be the service's absolute http(s) base URL")]
    [InlineData("ForwardedHeaders:KnownProxies:0", "proxy.secret-key", "ForwardedHeaders:KnownProxies[0] is not an IP address")]
    public void A_bad_rail_setting_is_named_and_its_secrets_are_not(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "appsettings.example.json"), optional: false)
            .AddInMemoryCollection([new(key, value)])
            .Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out _);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("secret-key", StringComparison.Ordinal));
    }

    [Fact]
    public void Lightning_on_LND_needs_its_REST_URL_a_hex_macaroon_a_pin_of_64_hex_digits_and_a_rate_source_and_never_names_the_macaroon()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "appsettings.example.json"), optional: false)
            .AddInMemoryCollection([
                new("Rails:Lightning:Backend", "lnd"),
                new("Rails:Lightning:Lnd:RestUrl", "lnd:8080"),
                new("Rails:Lightning:Lnd:MacaroonHex", "0201-secret-key"),
                new("Rails:Lightning:Lnd:TlsCertificateThumbprint", "AB:CD"),
                new("Rails:Lightning:Lnd:RateUrl", ""),
                new("Rails:Lightning:Lnd:RateJsonPath", "bitcoin..usd"),
                new("Rails:Lightning:Payouts:MaxFeePercent", "1"),
            ])
            .Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out _);

        foreach (var expected in new[]
        {
            "Rails:Lightning:Lnd:RestUrl is required", "Rails:Lightning:Lnd:MacaroonHex is required", "Rails:Lightning:Lnd:TlsCertificateThumbprint is the SHA-256",
            "Rails:Lightning:Lnd:RateUrl is required", "Rails:Lightning:Lnd:RateJsonPath is required", "Rails:Lightning:Payouts:MacaroonHex is required on LND",
        })
        {
            Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
        }
        Assert.DoesNotContain(problems, p => p.Contains("secret-key", StringComparison.Ordinal) || p.Contains("BtcPay", StringComparison.Ordinal));
    }

    [Fact]
    public void Nothing_configured_means_SQLite_in_the_working_directory()
    {
        var problems = SettlementConfiguration.BindAndValidate(new ConfigurationBuilder().Build(), new ServiceCollection(), out var settings);

        Assert.Empty(problems);
        Assert.Equal("sqlite", settings.Storage.Provider);
        Assert.Null(settings.Storage.ConnectionString);
    }

    [Theory]
    [InlineData(null, true, "none")]
    [InlineData(null, false, "well-known")]
    [InlineData("well-known", true, "well-known")]
    [InlineData("none", false, "none")]
    public void Domain_proof_is_off_by_default_only_in_Development(string? configured, bool development, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(configured is null ? [] : [new("Publishers:DomainVerification", configured)])
            .Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out var settings, development);

        Assert.Empty(problems);
        Assert.Equal(expected, settings.Publishers.DomainVerification);
        Assert.Equal(expected == "well-known", settings.Publishers.RequiresProof);
    }

    [Fact]
    public void An_unknown_domain_verification_is_refused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Publishers:DomainVerification", "dns")]).Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out _);

        Assert.Contains("Publishers:DomainVerification is well-known or none.", problems);
    }
}
