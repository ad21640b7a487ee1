using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Sutazai.Persistence.PostgreSql;

public sealed class PostgreSqlSutazaiDbContext(DbContextOptions<PostgreSqlSutazaiDbContext> options) : SutazaiDbContext(options)
{
    protected override string? JsonColumnType => "jsonb";
}

/// <summary>Lets <c>dotnet ef</c> build the PostgreSQL context without a server; migrations need no connection.</summary>
public sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlSutazaiDbContext>
{
    public PostgreSqlSutazaiDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<PostgreSqlSutazaiDbContext>();
        StorageRegistration.ConfigurePostgreSql(builder, "Host=127.0.0.1;Database=sutazai", 30);
        return new(builder.Options);
    }
}
