using Aisa.Settlement.Testing;
using Microsoft.Playwright;

namespace Aisa.Settlement.Api.Tests;

/// <summary>
/// Debian's chromium, headless, driven by Playwright as every browser test drives it (Playwright's own browser download is
/// not used); its screenshots go to <c>.test-artifacts/&lt;folder&gt;/</c>.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string Path = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly string _screenshots;

    private Chromium(IPlaywright playwright, IBrowser browser, string screenshots)
    {
        _playwright = playwright;
        _browser = browser;
        _screenshots = screenshots;
    }

    public static async Task<Chromium> LaunchAsync(string screenshotFolder)
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException($"{Path} is missing: scripts/test.sh installs Debian's chromium (apt-get install chromium).");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Path,
                Headless = true,
                // Root in CI needs --no-sandbox; the rest keeps chromium off a network this machine does not have.
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var screenshots = System.IO.Path.Combine(RepositoryPaths.Root, ".test-artifacts", screenshotFolder);
            Directory.CreateDirectory(screenshots);
            return new Chromium(playwright, browser, screenshots);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page on <paramref name="baseUrl"/>, waiting up to 30 s for what a test expects of it.</summary>
    public async Task<IPage> NewPageAsync(Uri baseUrl, int width = 1280, int height = 900)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUrl.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        Assertions.SetDefaultExpectTimeout(30_000);
        page.SetDefaultTimeout(30_000);
        return page;
    }

    public Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = System.IO.Path.Combine(_screenshots, name + ".png"), FullPage = true });

    public string Screenshot(string name) => System.IO.Path.Combine(_screenshots, name + ".png");

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
