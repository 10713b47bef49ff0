using System.Text;

namespace Aisa.Settlement.Api.Guard.Signatures;

/// <summary>One signature of a request (RFC 9421): what it covers, its parameters, and the signature bytes.</summary>
public sealed record MessageSignature(string Label, IReadOnlyList<string> Components, SfMember Input, byte[] Signature)
{
    public long? Created => Input.Parameter("created") as long?;
    public long? Expires => Input.Parameter("expires") as long?;
    public string? Nonce => Input.Parameter("nonce") as string;
    public string? KeyId => Input.Parameter("keyid") as string;
    public string? Tag => Input.Parameter("tag") as string;
    public string? Algorithm => Input.Parameter("alg") as string;

    /// <summary>The signature base (RFC 9421 §2.5): one line per covered component, then <c>@signature-params</c>; null when a component has no value.</summary>
    public string? Base(Func<string, string?> valueOf)
    {
        var lines = new StringBuilder();
        foreach (var component in Components)
        {
            if (valueOf(component) is not { } value)
            {
                return null;
            }
            lines.Append('"').Append(component).Append("\": ").Append(value).Append('\n');
        }
        return lines.Append("\"@signature-params\": ").Append(StructuredFields.SerializeInnerList(Input)).ToString();
    }
}

/// <summary>
/// Reading the <c>Signature-Input</c> and <c>Signature</c> fields of a request. Web Bot Auth (Cloudflare's pay-per-crawl
/// scheme) is RFC 9421 with <c>tag="web-bot-auth"</c>, Ed25519 keys named by their JWK thumbprint.
/// </summary>
public static class WebBotAuth
{
    public const string Tag = "web-bot-auth";

    /// <summary>The signature labelled <paramref name="label"/>, or else the first tagged web-bot-auth; or what is wrong with the fields.</summary>
    public static (MessageSignature? Signature, string? Problem) Read(string? signatureInput, string? signature, string? label = null)
    {
        if (string.IsNullOrEmpty(signatureInput) || string.IsNullOrEmpty(signature))
        {
            return (null, "The request carries no Signature and Signature-Input.");
        }
        var inputs = StructuredFields.ParseDictionary(signatureInput);
        var signatures = StructuredFields.ParseDictionary(signature);
        if (inputs is null || signatures is null)
        {
            return (null, "Signature-Input or Signature is not a structured field dictionary (RFC 8941).");
        }
        var chosen = inputs.FirstOrDefault(i => label is null ? i.Value.InnerList is not null && i.Value.Parameter("tag") as string == Tag : i.Key == label);
        if (chosen.Value?.InnerList is not { } components)
        {
            return (null, label is null ? $"No signature is tagged \"{Tag}\"." : $"No signature is labelled {label}.");
        }
        if (components.Any(c => c.Item is not string || c.Parameters.Count > 0))
        {
            return (null, "A covered component is not a plain field or derived component name.");
        }
        var bytes = signatures.FirstOrDefault(s => s.Key == chosen.Key).Value?.Item as byte[];
        if (bytes is null)
        {
            return (null, $"Signature has no byte sequence labelled {chosen.Key}.");
        }
        return (new MessageSignature(chosen.Key, components.Select(c => (string)c.Item!).ToList(), chosen.Value, bytes), null);
    }
}
