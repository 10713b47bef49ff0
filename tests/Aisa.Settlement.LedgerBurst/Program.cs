// Writes a burst of transfers through the ledger from several workers and reports each one on standard
// output only after it has committed. The crash tests kill this process with SIGKILL mid-burst and then
// check that every reported transfer is in the database. Bounded: it stops by itself.
using System.Globalization;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Ledger;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Aisa.Settlement.LedgerBurst <sqlite|postgres> <connection string> <workers>");
    return 2;
}

var storage = new StorageOptions { Provider = args[0], ConnectionString = args[1] };
await using var database = StorageServiceCollectionExtensions.CreateDatabase(storage);
var ledger = new SqlLedger(database, TimeProvider.System);
var clearing = await ledger.OpenAccountAsync(AccountCodes.RailClearing("burst"), AccountKind.RailClearing, CancellationToken.None);
var wallet = await ledger.OpenAccountAsync(AccountCodes.AgentWallet("burst"), AccountKind.AgentWallet, CancellationToken.None);
var publisher = await ledger.OpenAccountAsync(AccountCodes.PublisherPayable("burst"), AccountKind.PublisherPayable, CancellationToken.None);
var platform = await ledger.OpenAccountAsync(AccountCodes.PlatformRevenue, AccountKind.PlatformRevenue, CancellationToken.None);
Console.WriteLine("ready");

const int MaxTransfers = 200_000;
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
var next = 0;
var workers = Enumerable.Range(0, int.Parse(args[2], CultureInfo.InvariantCulture)).Select(_ => Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        var n = Interlocked.Increment(ref next);
        if (n > MaxTransfers)
        {
            return;
        }
        TransferRequest[] batch = n % 3 == 0
            ? [new($"burst:deposit:{n}", clearing.Id, wallet.Id, Micros.FromUsd(1m), "deposit")]
            :
            [
                new($"burst:charge:{n}", wallet.Id, publisher.Id, Micros.FromUsd(0.37m), "charge"),
                new($"burst:charge:{n}:fee", publisher.Id, platform.Id, Micros.FromUsd(0.037m), "platform-fee"),
            ];
        var result = await ledger.PostAsync(batch, CancellationToken.None);
        if (result.Outcome == PostOutcome.Posted)
        {
            // Console.Out flushes every line: once this line is out, the commit had returned.
            Console.WriteLine(string.Join(' ', result.Transfers.Select(t => "committed " + t.IdempotencyKey)));
        }
    }
})).ToArray();
await Task.WhenAll(workers);
return 0;
