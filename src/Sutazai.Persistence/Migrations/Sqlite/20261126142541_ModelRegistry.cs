using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ModelRegistry : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "is_default",
                table: "model_registry",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "operation",
                table: "chat_history",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "chat");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "is_default",
                table: "model_registry");

            migrationBuilder.DropColumn(
                name: "operation",
                table: "chat_history");
        }
    }
}
