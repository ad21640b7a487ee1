using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Sutazai.Persistence.Sqlite;

public sealed class SqliteSutazaiDbContext(DbContextOptions<SqliteSutazaiDbContext> options) : SutazaiDbContext(options)
{
    protected override string? JsonColumnType => null;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        base.ConfigureConventions(configurationBuilder);
        // SQLite cannot compare or order DateTimeOffset values it stores as text; as UTC ticks it can.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
    }

    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        value => value.UtcTicks,
        ticks => new DateTimeOffset(ticks, TimeSpan.Zero));
}

/// <summary>Lets <c>dotnet ef</c> build the SQLite context without the server.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteSutazaiDbContext>
{
    public SqliteSutazaiDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<SqliteSutazaiDbContext>();
        StorageRegistration.ConfigureSqlite(builder, "Data Source=design.db", new StorageOptions());
        return new(builder.Options);
    }
}
