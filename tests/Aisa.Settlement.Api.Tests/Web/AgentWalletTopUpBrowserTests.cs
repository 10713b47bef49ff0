using System.Text.Json;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.Playwright;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;
using static Microsoft.Playwright.Assertions;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>
/// The wallet's top-ups on rails that are paid from elsewhere, in chromium: Lightning on the FAKE LND (no Lightning node runs
/// here; the fake makes real BOLT11 invoices), USDC on Solana (the real runtime, LiteSVM, behind our JSON-RPC front end) and
/// the agent's own address on an EVM chain (ganache).
/// Each QR code on the page is read back from the pixels the browser drew, with ZXing.Net, and must hold exactly what the
/// API answered: the invoice the backend made for the deposit, the Solana Pay request carrying the deposit's reference.
/// The Lightning invoice, paid, is credited by the watcher and the page's balance shows it.
/// </summary>
public sealed class AgentWalletTopUpBrowserTests : IAsyncLifetime
{
    private LightningFake _lnd = null!;
    private SolanaNode _solana = null!;
    private Ganache _evm = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private Chromium _browser = null!;

    public async Task InitializeAsync()
    {
        _lnd = await LightningFake.StartAsync();
        _solana = await SolanaNode.StartAsync();
        var treasury = await _solana.SetupAsync();
        _evm = await Ganache.StartAsync(EvmWatch.ChainId);
        var token = await _evm.OrStopAsync(n => n.DeployTokenAsync(decimals: 6));
        var settings = _lnd.Settings("lnd");
        foreach (var (key, value) in SolanaWatch.Settings(_solana.Url, treasury).Concat(EvmWatch.Settings(_evm.Url, token)))
        {
            settings[key] = value;
        }
        _store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _factory = new SettlementFactory(_store, settings);
        _browser = await Chromium.LaunchAsync("wallet");
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in new IAsyncDisposable?[] { _browser, _factory, _store, _evm, _solana, _lnd })
        {
            if (owned is not null)
            {
                await owned.DisposeAsync();
            }
        }
    }

    /// <summary>The text of the QR code an <c>img</c> shows, read from the pixels the browser drew.</summary>
    private static async Task<string> ScanAsync(ILocator image)
    {
        var drawn = await image.EvaluateAsync<JsonElement>("""
            async img => {
              await img.decode();
              const canvas = document.createElement("canvas");
              canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
              const context = canvas.getContext("2d");
              context.drawImage(img, 0, 0);
              const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
              let binary = "";
              for (let i = 0; i < pixels.length; i++) binary += String.fromCharCode(pixels[i]);
              return { width: canvas.width, height: canvas.height, rgba: btoa(binary) };
            }
            """);
        var source = new RGBLuminanceSource(Convert.FromBase64String(drawn.GetProperty("rgba").GetString()!),
            drawn.GetProperty("width").GetInt32(), drawn.GetProperty("height").GetInt32(), RGBLuminanceSource.BitmapFormat.RGBA32);
        // The image is the code alone, square to the pixel: without PURE_BARCODE, ZXing's finder-pattern search misses about
        // one in 25 of such perfect images (measured: 15 of 400 invoice-sized codes; none with these hints).
        var result = new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)),
            new Dictionary<DecodeHintType, object> { [DecodeHintType.PURE_BARCODE] = true, [DecodeHintType.TRY_HARDER] = true });
        Assert.True(result is not null, "The image holds no QR code that ZXing can read.");
        return result.Text;
    }

    private static async Task SignUpAsync(IPage page)
    {
        await page.GotoAsync("/agent/signup");
        await page.FillAsync("#email", $"scanner-{Guid.NewGuid():N}@example.com");
        await page.FillAsync("#password", "correct horse");
        await page.ClickAsync("button[type=submit]");
        await page.ClickAsync("a:has-text('Go to your wallet')");
    }

    private static async Task TopUpAsync(IPage page, string rail, string amount)
    {
        await page.GotoAsync("/agent/");
        await page.FillAsync("#topup-amount", amount);
        await page.SelectOptionAsync("#topup-rail", rail);
        await page.ClickAsync("#topup-form button[type=submit]");
    }

    /// <summary>The agent's newest deposit as the API lists it (its session from a login through the API).</summary>
    private static async Task<JsonElement> NewestDepositAsync(AisaClient api, string session) =>
        (await api.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(session))).Body.GetProperty("deposits")[0];

    [Fact]
    public async Task The_Lightning_and_Solana_top_ups_show_QR_codes_holding_exactly_what_the_api_answered_and_the_paid_invoice_is_credited()
    {
        var api = new AisaClient(_factory.CreateClient());
        var page = await _browser.NewPageAsync(_factory.Url);
        await SignUpAsync(page);
        var email = await page.Locator("#who").TextContentAsync();
        var session = (await api.Agents.LoginAsync(email!, "correct horse")).Required.Token;

        // The agent's own EVM address, on the wallet page with the tokens credited there, as the API hands it out.
        var evmAddress = await EvmWatch.AddressAsync(api, session);
        var evmCard = page.Locator($"#addresses .card.pay[data-rail='base']");
        await Expect(evmCard).ToContainTextAsync($"chain {EvmWatch.ChainId}");
        await Expect(evmCard).ToContainTextAsync("USDC");
        Assert.Equal(evmAddress, await ScanAsync(evmCard.Locator("img.qr")));
        await Expect(page.Locator("#addresses .card.pay[data-rail='solana'] img.qr")).ToHaveCountAsync(0);
        await _browser.ShotAsync(page, "04-wallet-addresses");

        // Lightning: the invoice of the deposit, as the backend made it.
        await TopUpAsync(page, "lightning", "5.00");
        var invoiceCard = page.Locator(".card.pay[data-pay=invoice]");
        await Expect(invoiceCard).ToBeVisibleAsync();
        await _browser.ShotAsync(page, "05-top-up-lightning");
        var scannedInvoice = await ScanAsync(invoiceCard.Locator("img.qr"));
        Assert.Equal(await page.Locator("#topup-answer [data-field=invoice]").TextContentAsync(), scannedInvoice);
        Assert.Equal(scannedInvoice, await invoiceCard.Locator(".pay-value").TextContentAsync());
        var made = await _lnd.InvoiceAsync(scannedInvoice);
        var lightningDeposit = await NewestDepositAsync(api, session);
        Assert.Equal("lightning", lightningDeposit.GetProperty("rail").GetString());
        Assert.Equal(made["paymentHash"]!.GetValue<string>(), lightningDeposit.GetProperty("reference").GetString());
        Assert.StartsWith("lnbc", scannedInvoice, StringComparison.Ordinal);

        // Solana: the Solana Pay request, carrying the reference key the watcher credits the deposit by (the deposit's address).
        await TopUpAsync(page, "solana", "2.50");
        var requestCard = page.Locator(".card.pay[data-pay=url]");
        await Expect(requestCard).ToBeVisibleAsync();
        await _browser.ShotAsync(page, "06-top-up-solana");
        var scannedRequest = await ScanAsync(requestCard.Locator("img.qr"));
        Assert.Equal(await page.Locator("#topup-answer [data-field=url]").TextContentAsync(), scannedRequest);
        var solanaDeposit = await NewestDepositAsync(api, session);
        Assert.Equal("solana", solanaDeposit.GetProperty("rail").GetString());
        Assert.Matches(new Regex($"^solana:[1-9A-HJ-NP-Za-km-z]+\\?amount=2\\.5&spl-token=[1-9A-HJ-NP-Za-km-z]+&reference={solanaDeposit.GetProperty("address").GetString()}&"), scannedRequest);
        // The treasury's bare address is not offered to scan: a transfer to it without the reference would name nobody.
        await Expect(page.Locator(".card.pay[data-pay=address]")).ToHaveCountAsync(0);

        // The wallet's page follows the open deposit live: the invoice paid, the watcher credits it, and the row and the
        // balance change on the page as it stands, without a reload.
        await page.GotoAsync("/agent/");
        var row = page.Locator($"#deposits tr[data-deposit='{lightningDeposit.GetProperty("id").GetInt64()}']");
        await Expect(row.Locator(".state")).ToHaveTextAsync("pending");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("0.000000");
        // Each open deposit says when its rail's payment is final: an invoice when settled, Solana at the finalized commitment.
        await Expect(row.Locator(".finality")).ToHaveTextAsync("when settled");
        await Expect(page.Locator($"#deposits tr[data-deposit='{solanaDeposit.GetProperty("id").GetInt64()}'] .finality")).ToHaveTextAsync("at finalized");
        var navigations = 0;
        page.FrameNavigated += (_, _) => navigations++;
        await _lnd.PayForPreimageAsync(scannedInvoice);
        await Expect(row.Locator(".state")).ToHaveTextAsync("credited", new() { Timeout = 60_000 });
        await Expect(page.Locator("#balance")).ToHaveTextAsync("5.000000");
        Assert.Equal(0, navigations);
        await _browser.ShotAsync(page, "07-wallet-lightning-credited");
    }
}
