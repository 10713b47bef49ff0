using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Aisa.Settlement.Storage.Security;

/// <summary>
/// Data Protection's key ring in the service's own database: every instance reads the same keys, so a cookie or an
/// antiforgery token made by one is accepted by the others and after a restart. Keys are only ever added; the framework
/// expires and replaces them itself. Its calls are synchronous (the framework's contract), and rare: the ring is read at
/// start and when a key is due.
/// </summary>
public sealed class DataProtectionKeyStore(SqlDatabase database, TimeProvider clock) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = connection.CreateCommand(null, "SELECT xml FROM data_protection_keys ORDER BY id");
        using var reader = command.ExecuteReader();
        var keys = new List<XElement>();
        while (reader.Read())
        {
            keys.Add(XElement.Parse(reader.GetString(0)));
        }
        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = connection.CreateCommand(null,
            "INSERT INTO data_protection_keys (friendly_name, xml, created_at) VALUES (@name, @xml, @now) ON CONFLICT (friendly_name) DO NOTHING",
            ("name", friendlyName), ("xml", element.ToString(SaveOptions.DisableFormatting)), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
        command.ExecuteNonQuery();
    }
}
