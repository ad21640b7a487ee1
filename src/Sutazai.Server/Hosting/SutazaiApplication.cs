using System.Net;
using System.Text.Json.Serialization;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Serilog.Formatting.Compact;
using Serilog;
using Sutazai.Core.Identity;
using Sutazai.Core.Limits;
using Sutazai.Agents;
using Sutazai.Core;
using Sutazai.LlamaCpp;
using Sutazai.Ollama;
using Sutazai.OpenAi;
using Sutazai.Persistence;
using Sutazai.Server.Agents;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Health;
using Sutazai.Server.Identity;
using Sutazai.Server.RateLimiting;
using Sutazai.Server.Models;
using Sutazai.Server.Monitoring;
using Sutazai.Server.Tasks;

namespace Sutazai.Server.Hosting;

/// <summary>The server's table of contents: what it registers, how requests flow, which endpoints it maps.</summary>
public static partial class SutazaiApplication
{
    public static WebApplicationBuilder AddSutazai(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSerilog((sp, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(sp)
            .Enrich.FromLogContext()
            .WriteTo.Console(new RenderedCompactJsonFormatter()),
            // Each host keeps its own logger (tests run several in one process); nothing goes through the static one.
            preserveStaticLogger: true);
        services.AddHostedService<RequestActivityListener>();

        services.AddSutazaiCore();
        services.AddSutazaiPersistence();
        services.AddSutazaiTasks();
        services.AddSutazaiAgents();
        services.AddSutazaiMetrics();
        services.AddOptions<Agents.AgentFilesOptions>().BindConfiguration(Agents.AgentFilesOptions.Section);
        services.AddSingleton<Agents.AgentFiles>();
        services.AddSutazaiModels();
        // Resolution asks backends in this order: local GGUF files, then Ollama, then OpenAI-compatible servers.
        services.AddSutazaiLlamaCpp();
        services.AddSutazaiOllama(builder.Configuration);
        services.AddSutazaiOpenAi(builder.Configuration);
        services.AddHttpClient(WebhookSender.ClientName);
        services.AddSingleton<WebhookSender>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        services.AddValidatedOptions<ServerOptions, ServerOptionsValidator>(ServerOptions.Section);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerOptions>>((kestrel, server) => ConfigureKestrel(kestrel, server.Value));
        services.AddOptions<HostOptions>().Configure<IOptions<ServerOptions>>((host, server) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(server.Value.ShutdownTimeoutSeconds));

        services.ConfigureHttpJsonOptions(json => ConfigureJson(json.SerializerOptions));
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = ProblemDetailsDefaults.Apply);
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<UnhandledExceptionHandler>();
        // Unreadable requests throw, so BadRequestExceptionHandler can say what was wrong instead of an empty 400.
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        services.AddValidation();
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SutazAI API";
            document.Info.Version = NodeInfo.Version;
            document.Info.Description = "Self-hosted AI agent orchestration: agents, tasks, workflows, knowledge and models.";
            return Task.CompletedTask;
        }).AddSutazaiSecurity());
        services.AddSutazaiHealthChecks();

        services.AddSingleton<NodeInfo>();
        services.AddSutazaiIdentity();
        services.AddValidatedOptions<RateLimitOptions, RateLimitOptionsValidator>(RateLimitOptions.Section);
        services.TryAddSingleton<IRateLimitCounter, MemoryRateLimitCounter>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IAuditSink>(sp => sp.GetRequiredService<AuditLog>());
        services.AddHostedService<PlatformInitializer>();
        return builder;
    }

    public static WebApplication UseSutazai(this WebApplication app)
    {
        app.Lifetime.ApplicationStopping.Register(() => LogShuttingDown(app.Logger));
        // Outermost, so the logged status is the one the client got.
        app.UseSerilogRequestLogging(logging =>
        {
            logging.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.000} ms";
            logging.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            // Who made the call, never with what credential; the query string is left out because clients put tokens there.
            logging.EnrichDiagnosticContext = (diagnostics, context) =>
            {
                if (context.User.Identity?.IsAuthenticated == true)
                {
                    diagnostics.Set("UserName", context.User.Identity.Name);
                    diagnostics.Set("ApiKeyId", context.User.ApiKeyIdOf());
                }
            };
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<NulFreeUrl>();
        app.UseMiddleware<ReadinessGate>();
        app.UseRouting();
        app.UseAuthentication();
        app.UseMiddleware<RateLimitMiddleware>();
        // Before authorization, so refused calls to audited endpoints are recorded too.
        app.UseMiddleware<AuditMiddleware>();
        app.UseAuthorization();
        return app;
    }

    public static WebApplication MapSutazai(this WebApplication app)
    {
        app.MapHealth();
        app.MapOpenApi().AllowAnonymous().WithoutRateLimit();
        app.MapScalarApiReference("/docs", scalar => scalar
                .WithTitle("SutazAI API")
                .AddPreferredSecuritySchemes(OpenApiSecurity.BearerScheme))
            .AllowAnonymous().WithoutRateLimit();
        app.MapAuthApi();
        app.MapUsersApi();
        app.MapApiKeysApi();
        app.MapAuditApi();
        app.MapAgentsApi();
        app.MapTasksApi();
        app.MapModelsApi();
        app.MapMetrics();
        app.MapChatApi();
        app.MapOpenAiCompatibleApi();
        app.MapOllamaCompatibleApi();
        return app;
    }

    /// <summary>The API's JSON: snake_case like the original system, enums by name, unknown properties refused.</summary>
    public static void ConfigureJson(JsonSerializerOptions json)
    {
        json.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        json.DictionaryKeyPolicy = null;
        json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        json.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        json.Converters.Add(new NulFreeStringConverter());
        json.Converters.Add(new NulFreeJsonElementConverter());
        json.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, ServerOptions server)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = server.MaxRequestBodyBytes;
        switch (server.ListenAddress.ToLowerInvariant())
        {
            case "localhost" when server.Port == 0:
                // Kestrel cannot pick one free port for both loopback families.
                kestrel.Listen(IPAddress.Loopback, 0);
                break;
            case "localhost":
                kestrel.ListenLocalhost(server.Port);
                break;
            case "any":
                kestrel.ListenAnyIP(server.Port);
                break;
            default:
                kestrel.Listen(IPAddress.Parse(server.ListenAddress), server.Port);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: finishing in-flight requests")]
    private static partial void LogShuttingDown(Microsoft.Extensions.Logging.ILogger logger);
}
