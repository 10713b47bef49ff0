using System.Text.Json;

namespace Aisa.Settlement.Client;

/// <summary>What the gateway refused, in the contract's words: its <c>error</c> code, its message, the HTTP status and the whole body.</summary>
public sealed record AisaError(int Status, string Code, string Message, JsonElement Body);

/// <summary>An answer of the gateway: the value it gave, or its refusal. Transport failures are exceptions (<see cref="HttpRequestException"/>).</summary>
public sealed record AisaResult<T>(int Status, T? Value, AisaError? Error)
{
    public bool Succeeded => Error is null;

    /// <summary>The value; a refusal throws <see cref="AisaException"/> with it.</summary>
    public T Required => Error is null ? Value! : throw new AisaException(Error);
}

public sealed class AisaException(AisaError error) : Exception($"{error.Status} {error.Code}: {error.Message}")
{
    public AisaError Error { get; } = error;
}
