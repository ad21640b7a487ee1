using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sutazai.Persistence;

/// <summary>
/// What a hand-built statement over an entity's table needs from EF's model: the table and column names, quoted
/// for the provider, and parameters made by each property's own type mapping (value converters included), so
/// values are stored exactly as EF stores them.
/// </summary>
/// <remarks>
/// On SQLite, statements over many rows are run a row at a time (<see cref="ExecuteEachAsync"/>): Microsoft.Data.Sqlite
/// binds each parameter by looking its name up in the statement's list, and binds every parameter of a command to
/// every statement in it, so one command with thousands of parameters costs time quadratic in their number (a
/// 256-row INSERT of usage records took tens of milliseconds, and held SQLite's one write turn all the while).
/// A statement prepared once and stepped for each row costs what the row costs.
/// </remarks>
internal sealed class RowsSql : IDisposable
{
    private readonly ISqlGenerationHelper _sql;
    private readonly StoreObjectIdentifier _table;
    private readonly DbContext _db;
    private readonly DbCommand _factory;
    private readonly List<DbParameter> _parameters = [];

    public RowsSql(DbContext db, IEntityType entity)
    {
        _db = db;
        _sql = db.GetService<ISqlGenerationHelper>();
        _table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        _factory = db.Database.GetDbConnection().CreateCommand();
        Table = _sql.DelimitIdentifier(_table.Name, _table.Schema);
    }

    public string Table { get; }

    public IReadOnlyList<DbParameter> Parameters => _parameters;

    public string Column(IProperty property) => _sql.DelimitIdentifier(property.GetColumnName(_table)!);

    /// <summary>Adds a parameter holding the value as the property stores it.</summary>
    /// <returns>How the statement refers to the parameter, for example <c>@r3</c>.</returns>
    public string Parameter(IProperty property, object? value)
    {
        var name = $"r{_parameters.Count}";
        _parameters.Add(property.GetRelationalTypeMapping().CreateParameter(_factory, name, value, property.IsNullable));
        // The provider's own spelling of a parameter reference, as EF writes it in its statements.
        return _sql.GenerateParameterNamePlaceholder(name);
    }

    /// <summary>Forgets the parameters made so far, so the next statement's are numbered from 0.</summary>
    public void ClearParameters() => _parameters.Clear();

    /// <summary>
    /// Runs a statement for each row, prepared once (every row's text must be the same; only its parameters differ),
    /// in the context's transaction or, when it has none, in one of its own.
    /// </summary>
    /// <returns>How many rows the statements changed.</returns>
    public async Task<int> ExecuteEachAsync<TRow>(IEnumerable<TRow> rows, Func<TRow, string> statement, CancellationToken cancellationToken)
    {
        await _db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var own = _db.Database.CurrentTransaction is null ? await _db.Database.BeginTransactionAsync(cancellationToken) : null;
            await using (own)
            {
                await using var command = _db.Database.GetDbConnection().CreateCommand();
                command.Transaction = _db.Database.CurrentTransaction!.GetDbTransaction();
                command.CommandTimeout = _db.Database.GetCommandTimeout() ?? command.CommandTimeout;
                var changed = 0;
                foreach (var row in rows)
                {
                    ClearParameters();
                    var text = statement(row);
                    if (command.CommandText != text)
                    {
                        command.CommandText = text;
                    }

                    command.Parameters.Clear();
                    foreach (var parameter in _parameters)
                    {
                        command.Parameters.Add(parameter);
                    }
                    changed += await command.ExecuteNonQueryAsync(cancellationToken);
                }

                if (own is not null)
                {
                    await own.CommitAsync(cancellationToken);
                }

                return changed;
            }
        }
        finally
        {
            await _db.Database.CloseConnectionAsync();
        }
    }

    public void Dispose() => _factory.Dispose();
}
