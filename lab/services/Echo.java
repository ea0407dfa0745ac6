// The lab Tomcat's servlet: the request as the container sees it, as JSON (ajp lab test); ?big=N sends N bytes, ?status= sets the status, ?attr=NAME echoes request attributes.
import jakarta.servlet.http.*;
import java.io.*;
import java.util.*;

public class Echo extends HttpServlet {
  private static String q(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
  @Override protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String big = req.getParameter("big");
    if (big != null) {
      resp.setContentType("text/plain");
      Writer w = resp.getWriter();
      int n = Integer.parseInt(big);
      char[] block = new char[1000]; Arrays.fill(block, 'z');
      for (int i = 0; i < n; i += 1000) w.write(block, 0, Math.min(1000, n - i));
      return;
    }
    String status = req.getParameter("status");
    if (status != null) resp.setStatus(Integer.parseInt(status));
    byte[] body = req.getInputStream().readAllBytes();
    StringBuilder h = new StringBuilder("{");
    for (Enumeration<String> e = req.getHeaderNames(); e.hasMoreElements();) {
      String n = e.nextElement();
      h.append(h.length() > 1 ? "," : "").append(q(n)).append(':').append(q(req.getHeader(n)));
    }
    h.append('}');
    StringBuilder a = new StringBuilder("{");
    String[] names = req.getParameterValues("attr");
    if (names != null) for (String n : names) {
      Object v = req.getAttribute(n);
      a.append(a.length() > 1 ? "," : "").append(q(n)).append(':').append(q(v == null ? null : v.toString()));
    }
    a.append('}');
    resp.setContentType("application/json");
    resp.setCharacterEncoding("UTF-8");
    resp.setHeader("X-Portolan", "ajp-echo");
    resp.addCookie(new Cookie("portolan", "cookie-value"));
    resp.getWriter().write("{\"method\":" + q(req.getMethod()) + ",\"uri\":" + q(req.getRequestURI()) + ",\"query\":" + q(req.getQueryString())
      + ",\"protocol\":" + q(req.getProtocol()) + ",\"remoteAddr\":" + q(req.getRemoteAddr()) + ",\"remoteUser\":" + q(req.getRemoteUser())
      + ",\"serverName\":" + q(req.getServerName()) + ",\"serverPort\":" + req.getServerPort() + ",\"secure\":" + req.isSecure()
      + ",\"headers\":" + h + ",\"attributes\":" + a + ",\"body\":" + q(new String(body, "UTF-8")) + "}");
  }
}
