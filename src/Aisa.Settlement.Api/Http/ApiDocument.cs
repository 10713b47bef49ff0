using System.Text.Json.Nodes;
using Aisa.Settlement.Money;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Aisa.Settlement.Api.Http;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>): each endpoint names what it takes and what it answers next to its
/// mapping (<see cref="Takes{T}"/>, <see cref="Answers{T}"/>, <see cref="Refuses"/>), the error bodies included, and the
/// scheme it is called with (<see cref="CalledWith{TBuilder}"/>). The handlers answer stored responses (an idempotent
/// retry replays the bytes of the first answer), which TypedResults cannot carry; a test checks the real answers of the
/// flows against the schemas this document gives, so the two cannot part unnoticed.
/// </summary>
public static class ApiDocument
{
    /// <summary>The crawler token, in <c>X-AISA-Crawler-Token</c>.</summary>
    public const string CrawlerToken = "crawlerToken";

    /// <summary>An agent's or a publisher's session, <c>Authorization: Bearer &lt;session&gt;</c>.</summary>
    public const string Session = "session";

    /// <summary>The operator's key, in <c>X-AISA-Operator-Key</c>.</summary>
    public const string OperatorKey = "operatorKey";

    /// <summary>The operator console's login cookie (its page scripts' JSON).</summary>
    public const string OperatorConsole = "operatorConsole";

    /// <summary>The document's description: the seed's flows, as the API reference at /docs shows them (Http/ApiGuide.md).</summary>
    private static readonly Lazy<string> Guide = new(() =>
    {
        using var stream = typeof(ApiDocument).Assembly.GetManifestResourceStream("Aisa.Settlement.Api.Http.ApiGuide.md")!;
        return new StreamReader(stream).ReadToEnd();
    });

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Aisa.Settlement",
                    Version = "v1",
                    Description = Guide.Value,
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [CrawlerToken] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-AISA-Crawler-Token",
                        Description = "The crawler token an agent got at registration or rotation (never as Authorization: Bearer).",
                    },
                    [Session] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http, Scheme = "bearer",
                        Description = "The session token of an agent's or a publisher's login or registration.",
                    },
                    [OperatorKey] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-AISA-Operator-Key",
                        Description = "The operator's key (Operator:ApiKey).",
                    },
                    [OperatorConsole] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Cookie, Name = "aisa_operator",
                        Description = "The operator console's login cookie (POST /dashboard/login with the operator key).",
                    },
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RequestBody>().LastOrDefault() is { } body)
                {
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken) },
                        },
                    };
                }
                var schemes = context.Description.ActionDescriptor.EndpointMetadata.OfType<CalledWithScheme>().Select(s => s.Scheme).Distinct().ToList();
                if (schemes.Count > 0)
                {
                    // Any one of them will do.
                    operation.Security = [.. schemes.Select(scheme => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] })];
                }
                foreach (var example in context.Description.ActionDescriptor.EndpointMetadata.OfType<ApiExample>())
                {
                    IDictionary<string, OpenApiMediaType>? content = null;
                    if (example.Status is { } status)
                    {
                        if (operation.Responses?.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) == true)
                        {
                            content = response.Content;
                        }
                    }
                    else
                    {
                        content = operation.RequestBody?.Content;
                    }
                    if (content?.TryGetValue("application/json", out var found) == true)
                    {
                        found.Examples ??= new Dictionary<string, IOpenApiExample>();
                        found.Examples[example.Name] = new OpenApiExample { Summary = example.Summary, Value = JsonNode.Parse(example.Json) };
                    }
                }
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // Amounts are JSON numbers of US dollars (at most six decimals), not the struct that holds them.
                if (context.JsonTypeInfo.Type == typeof(Micros))
                {
                    schema.Type = JsonSchemaType.Number;
                    schema.Properties?.Clear();
                    schema.Required?.Clear();
                    schema.Description = "US dollars, at most six decimals.";
                    return Task.CompletedTask;
                }
                // A property that may be null is left out when it is (ApiJson writes no nulls): it is not required.
                foreach (var property in context.JsonTypeInfo.Properties)
                {
                    if (Nullable.GetUnderlyingType(property.PropertyType) is not null || (!property.PropertyType.IsValueType && property.IsGetNullable))
                    {
                        schema.Required?.Remove(property.Name);
                    }
                }
                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// The JSON body the endpoint reads. Only the document is told: the endpoint reads the body itself, to refuse bad input
    /// in the contract's shape (routing's content-type check would answer a bare 415).
    /// </summary>
    public static RouteHandlerBuilder Takes<T>(this RouteHandlerBuilder builder) where T : notnull =>
        builder.WithMetadata(new RequestBody(typeof(T)));

    /// <summary>An answer of <paramref name="status"/> with a body of <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder Answers<T>(this RouteHandlerBuilder builder, int status) =>
        builder.Produces<T>(status, "application/json");

    /// <summary>Refusals with the contract's error body, <c>{success:false, error, message}</c>.</summary>
    public static RouteHandlerBuilder Refuses(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<ApiError>(status, "application/json");
        }
        return builder;
    }

    /// <summary>What the endpoint is called with: one of <see cref="CrawlerToken"/>, <see cref="Session"/>, <see cref="OperatorKey"/>.</summary>
    public static TBuilder CalledWith<TBuilder>(this TBuilder builder, string scheme) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new CalledWithScheme(scheme));

    /// <summary>An example of the request body (<paramref name="status"/> null) or of one answer.</summary>
    public static RouteHandlerBuilder Example(this RouteHandlerBuilder builder, string name, string summary, int? status, string json) =>
        builder.WithMetadata(new ApiExample(name, summary, status, json));

    private sealed record CalledWithScheme(string Scheme);

    private sealed record RequestBody(Type Type);

    private sealed record ApiExample(string Name, string Summary, int? Status, string Json);
}
