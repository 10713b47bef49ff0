namespace Aisa.Settlement.Api.Publishers;

/// <summary><c>Publishers</c>: whether a publisher must prove its domain before its rules charge, and how the proof is fetched.</summary>
public sealed class PublisherOptions
{
    public const string Section = "Publishers";
    public const string WellKnown = "well-known";
    public const string None = "none";

    /// <summary>
    /// <c>well-known</c>: a publisher's rules charge once it served its token at <c>https://&lt;domain&gt;/.well-known/aisa-publisher.txt</c>
    /// (or an operator verified it); <c>none</c>: every publisher is taken at its word. Unset: <c>none</c> in the
    /// Development environment, so that a local trial works end to end, <c>well-known</c> everywhere else.
    /// </summary>
    public string? DomainVerification { get; set; }

    /// <summary>Lets the proof be fetched from loopback and private addresses: for tests and closed networks only.</summary>
    public bool AllowPrivateNetworks { get; set; }

    public bool RequiresProof => DomainVerification != None;

    public void ApplyEnvironment(bool development) => DomainVerification ??= development ? None : WellKnown;

    public IEnumerable<string> Validate()
    {
        if (DomainVerification is not (null or WellKnown or None))
        {
            yield return $"{Section}:DomainVerification is {WellKnown} or {None}.";
        }
    }
}
