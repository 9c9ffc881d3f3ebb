"""``GET /engine``: the engines this server offers (only the default one)."""

from flask_smorest import Blueprint

from app.api.camunda.schemas import ProcessEngineSchema

blp = Blueprint("camunda_engine", __name__, url_prefix="/engine-rest", description="Process engine")


@blp.route("/engine", methods=["GET"])
@blp.response(200, ProcessEngineSchema(many=True))
def engines() -> list[dict[str, str]]:
    """The process engines: only `default`."""
    return [{"name": "default"}]
