using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Adapters.Lightning.Lnd;

namespace Aisa.Settlement.Adapters.Lightning.Tests.Backends;

public sealed class AmountsTests
{
    [Theory]
    [InlineData("0.00015000", 15_000_000L)]
    [InlineData("1", 100_000_000_000L)]
    [InlineData("0.00000000001", 1L)]
    [InlineData("0", 0L)]
    public void A_BTC_decimal_string_is_millisatoshis(string btc, long msat) => Assert.Equal(msat, Msat.FromBtc(JsonValue.Create(btc)));

    [Theory]
    [InlineData("0.000000000001")]
    [InlineData("-1")]
    [InlineData("1e-3")]
    [InlineData("")]
    [InlineData("100000000000")]
    public void What_is_not_a_whole_number_of_millisatoshis_is_not_an_amount(string btc) => Assert.Null(Msat.FromBtc(JsonValue.Create(btc)));

    [Fact]
    public void Protojson_int64_is_read_from_a_string_or_a_number()
    {
        Assert.Equal(150_000_000L, Msat.Int64(JsonValue.Create("150000000")));
        Assert.Equal(7L, Msat.Int64(JsonValue.Create(7)));
        Assert.Null(Msat.Int64(JsonValue.Create("7.5")));
        Assert.Null(Msat.Int64(null));
    }

    [Theory]
    [InlineData("""{"bitcoin":{"usd":97123.45}}""", "bitcoin.usd", "97123.45")]
    [InlineData("""{"data":{"amount":"97123.45","currency":"USD"}}""", "data.amount", "97123.45")]
    [InlineData("""{"price":"1e5"}""", "price", "100000")]
    public void A_rate_is_the_positive_number_at_its_path(string json, string path, string price) =>
        Assert.Equal(decimal.Parse(price, System.Globalization.CultureInfo.InvariantCulture), BtcUsdRate.Find(JsonNode.Parse(json), path));

    [Theory]
    [InlineData("""{"bitcoin":{"usd":0}}""", "bitcoin.usd")]
    [InlineData("""{"bitcoin":{"usd":-5}}""", "bitcoin.usd")]
    [InlineData("""{"bitcoin":{"eur":97000}}""", "bitcoin.usd")]
    [InlineData("""{"bitcoin":{"usd":{"last":97000}}}""", "bitcoin.usd")]
    [InlineData("""[97000]""", "bitcoin.usd")]
    [InlineData("""{"bitcoin":{"usd":"n/a"}}""", "bitcoin.usd")]
    public void No_positive_number_at_the_path_is_no_rate(string json, string path) => Assert.Null(BtcUsdRate.Find(JsonNode.Parse(json), path));
}
