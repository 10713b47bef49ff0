using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Client;

public static class AisaClientServices
{
    /// <summary>Both clients as typed <see cref="HttpClient"/>s of <see cref="IHttpClientFactory"/>, on the gateway at <paramref name="gateway"/>.</summary>
    public static IServiceCollection AddAisaClients(this IServiceCollection services, Uri gateway)
    {
        var root = new Uri(gateway.ToString().TrimEnd('/') + "/");
        services.AddHttpClient<AisaAgentClient>(client => client.BaseAddress = root);
        services.AddHttpClient<AisaPublisherClient>(client => client.BaseAddress = root);
        return services;
    }
}
