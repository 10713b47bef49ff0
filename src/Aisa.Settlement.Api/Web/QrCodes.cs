using QRCoder;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Web;

/// <summary>A value a wallet scans (a payment request, an invoice, an address) as a QR code image inline in the page.</summary>
public static class QrCodes
{
    /// <summary>An <c>img</c> whose QR code holds exactly <paramref name="value"/> (byte mode: no case or character is changed).</summary>
    public static string Image(string value, string label)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(value, QRCodeGenerator.ECCLevel.M);
        var png = new PngByteQRCode(data).GetGraphic(4);
        return $"<img class=\"qr\" alt=\"QR code of the {E(label)}\" data-qr=\"{E(label)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\">";
    }
}
