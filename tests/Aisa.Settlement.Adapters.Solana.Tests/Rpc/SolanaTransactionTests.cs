using System.Numerics;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Solana.Rpc;

namespace Aisa.Settlement.Adapters.Solana.Tests.Rpc;

public sealed class SolanaTransactionTests
{
    private static SolanaTransaction Sample() =>
        SolanaTransaction.Read(JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Rpc", "solana-getTransaction.jsonParsed.json")))!.AsObject());

    [Fact]
    public void A_transfer_with_a_Solana_Pay_reference_shows_the_reference_among_its_signers_and_the_memo_before_it()
    {
        var transaction = Sample();

        var transfer = Assert.Single(transaction.Transfers);
        Assert.Equal("4Tf4h3ndps2nvA8CBVVQrCiibMRKTjGeYoByMeeLQyeoYVyKgPRa6DtcFncqEQTN3ZvbD5WoVLUnQEV83yTnGxNg", transaction.Signature);
        Assert.Equal(1041, transaction.Slot);
        Assert.Null(transaction.Error);
        Assert.Equal(("2", "98mXSwZwWrXwKJs8VAyEPQ1ejQPT6hwnw9GqEPWMTujT", "BnxtYtqi5tuqh1RDrRWSmPgiyPcy3tkzC2ayWseRn7Ms", (int?)6, new BigInteger(12_500_000)),
            (transfer.Index, transfer.Destination, transfer.Mint, transfer.Decimals, transfer.Amount));
        Assert.Equal(["DejYhzMjTWFmRqDV7hFJVHqN51ZAEi6LybWXoHGCbuWB"], transfer.Signers);
        Assert.Equal("aisa:dep:agent42", transfer.Memo);
    }

    [Fact]
    public void A_token_account_created_in_the_transaction_counts_from_zero()
    {
        var transaction = Sample();

        // Account 2 has no pre balance (created by the transaction's first instruction): its change is its whole post balance.
        Assert.Equal(new BigInteger(12_500_000), transaction.BalanceChange("98mXSwZwWrXwKJs8VAyEPQ1ejQPT6hwnw9GqEPWMTujT", "BnxtYtqi5tuqh1RDrRWSmPgiyPcy3tkzC2ayWseRn7Ms"));
        Assert.Equal(new BigInteger(-12_500_000), transaction.BalanceChange("92jHonio6tUGC6ZnX1ba86kWLXqH5nU1fMJf1fkTFDuv", "BnxtYtqi5tuqh1RDrRWSmPgiyPcy3tkzC2ayWseRn7Ms"));
        Assert.Equal(BigInteger.Zero, transaction.BalanceChange("98mXSwZwWrXwKJs8VAyEPQ1ejQPT6hwnw9GqEPWMTujT", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"));
    }

    [Fact]
    public void A_failed_transaction_keeps_its_error_and_a_token_2022_transfer_is_not_read_as_an_spl_token_one()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Rpc", "solana-getTransaction.jsonParsed.json")))!.AsObject();
        json["meta"]!["err"] = JsonNode.Parse("""{"InstructionError":[2,{"Custom":1}]}""");
        json["transaction"]!["message"]!["instructions"]![2]!["programId"] = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";

        var transaction = SolanaTransaction.Read(json);

        Assert.Equal("""{"InstructionError":[2,{"Custom":1}]}""", transaction.Error!.ToJsonString());
        Assert.Empty(transaction.Transfers);
    }

    [Fact]
    public void Garbage_is_refused_as_malformed()
    {
        Assert.Throws<InvalidDataException>(() => SolanaTransaction.Read(new JsonObject { ["slot"] = 1 }));
    }
}
