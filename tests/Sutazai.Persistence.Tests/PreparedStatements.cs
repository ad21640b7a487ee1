using Microsoft.EntityFrameworkCore;

namespace Sutazai.Persistence.Tests;

/// <summary>What PostgreSQL holds prepared for the session of a context's connection.</summary>
internal static class PreparedStatements
{
    public static Task<List<string>> ListAsync(SutazaiDbContext db, CancellationToken cancellationToken) =>
        db.Database.SqlQuery<string>($"SELECT statement AS \"Value\" FROM pg_prepared_statements").ToListAsync(cancellationToken);
}
