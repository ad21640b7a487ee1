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
internal sealed class RowsSql : IDisposable
{
    private readonly ISqlGenerationHelper _sql;
    private readonly StoreObjectIdentifier _table;
    private readonly DbCommand _factory;
    private readonly List<DbParameter> _parameters = [];

    public RowsSql(DbContext db, IEntityType entity)
    {
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
        var reference = _sql.GenerateParameterNamePlaceholder(name);
        return reference;
    }

    public void Dispose() => _factory.Dispose();
}
