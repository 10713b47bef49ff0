namespace Aisa.Settlement.Api.Payouts;

/// <summary>Some payouts of a pass could not go on now: they are tried again next pass.</summary>
public sealed class PayoutPassException(string message) : Exception(message);
