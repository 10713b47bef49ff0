using System.Text.Json.Nodes;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Sandbox;

/// <summary><c>Rails:Sandbox</c>: a rail whose top-ups credit at once, for trying the whole flow on a developer's machine.</summary>
public sealed class SandboxOptions
{
    public const string Section = "Rails:Sandbox";

    public bool Enabled { get; set; }
}

/// <summary>
/// Top-ups that need no money: a request is opened, named and reported paid at once, through the same deposit state
/// machine as every rail, so the wallet, the ledger and the console show it as they show a real one. Only in the
/// Development environment: anywhere else its section stops start-up.
/// </summary>
public sealed class SandboxRail(IDepositBook book, TimeProvider clock) : ITopUpRail
{
    public static readonly RailId Rail = new("sandbox");

    public RailId Id => Rail;

    public RailFinality Finality => RailFinality.Immediate;

    public async Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken)
    {
        var deposit = await book.OpenAsync(Rail, request.AgentId, request.Amount, null, clock.GetUtcNow() + TimeSpan.FromHours(1), cancellationToken);
        var payment = "sandbox-" + deposit.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await book.NameAsync(deposit.Id, payment, null, CancellationToken.None);
        var credited = await book.BookAsync(Rail, new DepositObservation(ObservationKind.Seen, payment, 1)
        {
            DepositId = deposit.Id,
            Paid = request.Amount,
            Evidence = new JsonObject { ["sandbox"] = true, ["note"] = "No money moved: a sandbox top-up, Development only." },
        }, CancellationToken.None);
        return new RailAnswer(201, new
        {
            success = true,
            rail = Rail.Value,
            depositId = deposit.Id,
            amount = request.Amount,
            state = credited?.State.ToWire(),
            message = "Sandbox top-up: credited at once, no money moved (Development only).",
        });
    }
}

public static class SandboxRails
{
    /// <summary><c>services.AddSandboxRail(configuration, development)</c>: the sandbox rail when <c>Rails:Sandbox:Enabled</c>, in Development only.</summary>
    public static IServiceCollection AddSandboxRail(this IServiceCollection services, IConfiguration configuration, bool development)
    {
        var setup = RailSetup.Of(services);
        if (setup.BindSection<SandboxOptions>(configuration, SandboxOptions.Section, _ => []) is not { Enabled: true })
        {
            return services;
        }
        if (!development)
        {
            setup.Problem($"{SandboxOptions.Section}:Enabled is for the Development environment only: its top-ups credit without money.");
            return services;
        }
        services.AddSingleton(provider => new SandboxRail(provider.GetRequiredService<IDepositBook>(), provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<SandboxRail>());
        return services;
    }
}
