using System.Text;
using System.Text.Json;
using Aisa.Settlement.Adapters.Lightning.Bolt11;
using Aisa.Settlement.Testing;
using NBitcoin.DataEncoders;

namespace Aisa.Settlement.Adapters.Lightning.Tests.Bolt11;

public sealed class Bolt11InvoiceTests
{
    /// <summary>Made with bolt11 1.4.1 (payment hash 0x42×32, node key e126f68f…b734): 1,500 sat, 900 s.</summary>
    private const string Example =
        "lnbc15u1pnhfpvqpp5gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpqdqsv95hxcfqw3hhqatsxqzuysp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qypqsqcqpfug4tad3cdj4j0pmlx896ry4mkenwv3jqw8zh4mp5wgdlaawznqdqug7wka9uwrfdky6ga5gkqx04tx6m8wprsv9c6rxgmafktdt0p6sp4q3qll";

    [Fact]
    public void A_known_invoice_reads_as_bolt11_wrote_it()
    {
        var invoice = Bolt11Invoice.Decode(Example);

        Assert.Equal(LightningNetwork.Mainnet, invoice.Network);
        Assert.Equal(1_500_000, invoice.AmountMsat);
        Assert.Equal(string.Concat(Enumerable.Repeat("42", 32)), invoice.PaymentHash);
        Assert.Equal(string.Concat(Enumerable.Repeat("11", 32)), invoice.PaymentSecret);
        Assert.Equal("aisa topup", invoice.Description);
        Assert.Equal(TimeSpan.FromSeconds(900), invoice.Expiry);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1735689600), invoice.Timestamp);
        Assert.Equal("03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad", invoice.Payee);
        Assert.Equal(Bolt11Invoice.Decode("lightning:" + Example.ToUpperInvariant()), invoice with { PaymentRequest = Example });
    }

    [Fact]
    public async Task A_hundred_invoices_of_every_network_and_amount_made_by_bolt11_decode_to_what_it_encoded()
    {
        var lines = (await NodePeers.RunAsync("bolt11-make.mjs", "100", "20261204")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(100, lines.Length);
        foreach (var line in lines)
        {
            var made = JsonDocument.Parse(line).RootElement;
            var invoice = Bolt11Invoice.Decode(made.GetProperty("invoice").GetString()!);
            Assert.Equal(made.GetProperty("network").GetString(), invoice.Network.ToString().ToLowerInvariant());
            Assert.Equal(made.GetProperty("msat").ValueKind == JsonValueKind.Null ? null : long.Parse(made.GetProperty("msat").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                invoice.AmountMsat);
            Assert.Equal(made.GetProperty("hash").GetString(), invoice.PaymentHash);
            Assert.Equal(made.GetProperty("secret").GetString(), invoice.PaymentSecret);
            Assert.Equal(TimeSpan.FromSeconds(made.GetProperty("expiry").GetInt32()), invoice.Expiry);
            Assert.Equal(made.GetProperty("timestamp").GetInt64(), invoice.Timestamp.ToUnixTimeSeconds());
            Assert.Equal(made.GetProperty("payee").GetString(), invoice.Payee);
            Assert.Equal(made.GetProperty("description").GetString(), invoice.Description);
        }
    }

    [Fact]
    public async Task A_tampered_invoice_is_refused()
    {
        var made = JsonDocument.Parse((await NodePeers.RunAsync("bolt11-make.mjs", "1", "3")).Trim()).RootElement;
        var invoice = made.GetProperty("invoice").GetString()!;
        Assert.True(made.GetProperty("namesPayee").GetBoolean());

        // One character changed: the checksum no longer holds.
        var flipped = invoice[..60] + (invoice[60] == 'q' ? 'p' : 'q') + invoice[61..];
        Assert.False(Bolt11Invoice.TryDecode(flipped, out _, out var checksum));
        Assert.Contains("checksum", checksum, StringComparison.Ordinal);

        // A larger amount, with a checksum made again: the signature no longer recovers to the payee the invoice names.
        var separator = invoice.LastIndexOf('1');
        var hrp = invoice[..separator];
        var amountAt = hrp.IndexOfAny("0123456789".ToCharArray());
        var raised = hrp[..amountAt] + "9" + hrp[amountAt..];
        var words = new Bech32Encoder(Encoding.ASCII.GetBytes(hrp)) { StrictLength = false }.DecodeDataRaw(invoice, out _);
        var forged = new Bech32Encoder(Encoding.ASCII.GetBytes(raised)) { StrictLength = false }.EncodeData(words, Bech32EncodingType.BECH32);
        Assert.False(Bolt11Invoice.TryDecode(forged, out _, out var signature));
        Assert.Contains("not its payee's", signature, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lnbc1")]
    [InlineData("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")]
    [InlineData("lnxx15u1pnhfpvqpp5gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpqdqsv95hxcfqw3hhqatsxqzuysp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qypqsqcqpfug4tad3cdj4j0pmlx896ry4mkenwv3jqw8zh4mp5wgdlaawznqdqug7wka9uwrfdky6ga5gkqx04tx6m8wprsv9c6rxgmafktdt0p6sp4q3qll")]
    [InlineData("Lnbc15u1pnhfpvqpp5gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpqdqsv95hxcfqw3hhqatsxqzuysp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qypqsqcqpfug4tad3cdj4j0pmlx896ry4mkenwv3jqw8zh4mp5wgdlaawznqdqug7wka9uwrfdky6ga5gkqx04tx6m8wprsv9c6rxgmafktdt0p6sp4q3qll")]
    public void What_is_no_invoice_is_refused_with_a_reason(string text)
    {
        Assert.False(Bolt11Invoice.TryDecode(text, out var invoice, out var problem));
        Assert.Null(invoice);
        Assert.False(string.IsNullOrWhiteSpace(problem));
    }
}
