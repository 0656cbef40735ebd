# pathways serve: the web page for planners, on a server.
#   docker build -t pathways .
#   docker run -p 127.0.0.1:8000:8000 -v pathways-data:/workspace pathways
# Put the trust's reverse proxy (which signs users in) in front of the published port and
# add --user-header to the command; see the README's "Web page" section.
FROM python:3.11-slim

RUN useradd --create-home --uid 1000 pathways
WORKDIR /app
COPY pyproject.toml requirements.lock README.md LICENSE ./
COPY simulation ./simulation
COPY calibration ./calibration
COPY scenarios ./scenarios
# Editable, so that the shipped scenarios beside the package are found as examples.
RUN pip install --no-cache-dir -c requirements.lock -e '.[web]'
# The package's modules compiled now: the user below cannot write them beside the code,
# and every run's processes would otherwise compile them again at each start.
RUN python -m compileall -q simulation

RUN mkdir /workspace && chown pathways /workspace
VOLUME /workspace
USER pathways
EXPOSE 8000
# Inside the container the page listens on every address; publish the port on the host's
# loopback (as above) or to the proxy only.
CMD ["pathways", "serve", "--workspace", "/workspace", "--host", "0.0.0.0", "--port", "8000"]
