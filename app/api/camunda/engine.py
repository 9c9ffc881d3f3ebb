"""``GET /engine``: the engines this server offers (only the default one)."""

from flask_smorest import Blueprint

blp = Blueprint("camunda_engine", __name__, url_prefix="/engine-rest", description="Process engine")


@blp.route("/engine", methods=["GET"])
def engines() -> list[dict[str, str]]:
    return [{"name": "default"}]
