using Aisa.Settlement.Api.Guard.Signatures;
using Aisa.Settlement.Pricing;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Guard;

namespace Aisa.Settlement.Api.Guard;

/// <summary>The signature fields of a content request, as the paywall forwards them to verify.</summary>
public sealed record RequestSignature(string? SignatureInput, string? Signature, string? SignatureAgent)
{
    public const string InputHeader = "Signature-Input";
    public const string SignatureHeader = "Signature";
    public const string AgentHeader = "Signature-Agent";
}

/// <summary>
/// Requests a publisher cannot forge, for a crawler whose policy requires them: the content request is signed as Web Bot
/// Auth signs it (RFC 9421, <c>tag="web-bot-auth"</c>, an Ed25519 key registered by the crawler and named by its JWK
/// thumbprint), covering at least <c>@authority</c> and <c>@path</c>, with <c>created</c>, <c>expires</c>, <c>nonce</c>
/// and <c>keyid</c>. Verify rebuilds what was signed from the publisher being charged and the resource asked about, so a
/// signature made for one site or path charges nowhere else, and takes its nonce once, so it charges once.
/// </summary>
public sealed class SignedRequests(SigningKeyStore keys, TimeProvider clock)
{
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private static readonly string[] Required = ["@authority", "@path"];
    private static readonly string[] Reconstructible = ["@authority", "@path", "@query", "@target-uri", "@scheme", "signature-agent"];

    /// <summary>What is wrong with the request's signature for this charge, or null when it is good (its nonce is then taken).</summary>
    public async Task<string?> ProblemAsync(Agent agent, RequestSignature sent, string publisherDomain, string resourceUrl, CancellationToken cancellationToken)
    {
        var (signature, problem) = WebBotAuth.Read(sent.SignatureInput, sent.Signature);
        if (signature is null)
        {
            return $"This crawler's owner requires signed requests (Web Bot Auth): {problem}";
        }
        if (signature.Algorithm is { } algorithm && algorithm != "ed25519")
        {
            return $"The signature's alg is {algorithm}: only ed25519 is accepted.";
        }
        if (Required.FirstOrDefault(c => !signature.Components.Contains(c)) is { } missing)
        {
            return $"The signature must cover {string.Join(" and ", Required)}; it does not cover {missing}.";
        }
        if (signature.Components.FirstOrDefault(c => !Reconstructible.Contains(c)) is { } unknown)
        {
            return $"The signature covers {unknown}, which verify cannot see: cover only {string.Join(", ", Reconstructible)}.";
        }
        if (signature.Created is not { } created || signature.Expires is not { } expires || string.IsNullOrEmpty(signature.Nonce) || string.IsNullOrEmpty(signature.KeyId))
        {
            return "The signature needs created, expires, nonce and keyid parameters.";
        }
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        if (created > now + ClockSkew.TotalSeconds || expires <= created || expires - created > MaxLifetime.TotalSeconds)
        {
            return $"The signature's window (created {created}, expires {expires}) is not a window of at most {MaxLifetime.TotalSeconds:0} s that has begun.";
        }
        if (expires + ClockSkew.TotalSeconds < now)
        {
            return $"The signature expired at {expires} (now {now}).";
        }
        if (signature.Nonce.Length > 256 || signature.KeyId.Length > 128)
        {
            return "The nonce or the keyid is too long.";
        }
        var target = Target(resourceUrl, publisherDomain);
        if (target is null)
        {
            return $"The resource's authority is not {publisherDomain} or one of its subdomains: the signature cannot be for this publisher.";
        }
        if (await keys.FindAsync(agent.Id, signature.KeyId, cancellationToken) is not { } key
            || Ed25519Jwk.TryBase64Url(key.PublicKey) is not { } publicKey)
        {
            return $"keyid {signature.KeyId} is not a key this crawler registered (POST /api/agent/keys).";
        }
        var values = new Dictionary<string, string?>
        {
            ["@authority"] = target.Value.Authority,
            ["@path"] = target.Value.Path,
            ["@query"] = target.Value.Query,
            ["@scheme"] = "https",
            ["@target-uri"] = $"https://{target.Value.Authority}{target.Value.Path}{(target.Value.Query == "?" ? "" : target.Value.Query)}",
            ["signature-agent"] = sent.SignatureAgent?.Trim(),
        };
        var signatureBase = signature.Base(name => values.GetValueOrDefault(name));
        if (signatureBase is null)
        {
            return "The signature covers signature-agent, and the Signature-Agent header was not forwarded.";
        }
        if (!new Ed25519Jwk(publicKey).Verifies(signatureBase, signature.Signature))
        {
            return $"The signature does not verify for {target.Value.Authority}{target.Value.Path}: it was made for another publisher, path or key.";
        }
        if (!await keys.TakeNonceAsync(signature.KeyId, signature.Nonce, DateTimeOffset.FromUnixTimeSeconds(expires) + ClockSkew, cancellationToken))
        {
            return "This signature's nonce was used before: a signed request is paid once; sign each request anew.";
        }
        return null;
    }

    /// <summary>
    /// The authority, path and query the crawler fetched: the resource URL's own (its host the publisher's domain or a
    /// subdomain of it), or the publisher's domain for a bare path. Path and query as sent, not normalized: that is what was signed.
    /// </summary>
    private static (string Authority, string Path, string Query)? Target(string resourceUrl, string publisherDomain)
    {
        if (ResourceUrl.AsSent(resourceUrl) is not var (absolute, rest))
        {
            return null;
        }
        var authority = publisherDomain;
        if (absolute is not null)
        {
            var host = absolute.Host.ToLowerInvariant();
            if (host != publisherDomain && !host.EndsWith("." + publisherDomain, StringComparison.Ordinal))
            {
                return null;
            }
            authority = absolute.IsDefaultPort ? host : $"{host}:{absolute.Port}";
        }
        var query = rest.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? (authority, rest, "?") : (authority, rest[..query], rest[query..]);
    }
}
