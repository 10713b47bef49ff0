namespace Aisa.Settlement.Rails;

/// <summary>What a rail answers a caller (a top-up asked for, a webhook delivered), in the contract's shape: the host writes it as it is.</summary>
/// <param name="Body">The JSON body of a success; null for a refusal, whose body is the contract's <c>{success:false, error, message}</c>.</param>
public sealed record RailAnswer(int Status, object? Body, string? Error = null, string? Message = null)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public static RailAnswer Ok(object body) => new(200, body);

    public static RailAnswer Refused(int status, string error, string message) => new(status, null, error, message);
}
