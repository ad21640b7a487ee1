using Sutazai.Server.Hosting;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddSutazai();

    var app = builder.Build();
    app.UseSutazai();
    app.MapSutazai();

    await app.RunAsync();
    return 0;
}
catch (Exception e) when (ConfigurationErrors.TryReport(e, Console.Error))
{
    return 2;
}

/// <summary>The entry point, visible to <c>WebApplicationFactory</c> in tests.</summary>
public partial class Program;
